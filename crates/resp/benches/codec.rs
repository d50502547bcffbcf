//! Decoding and encoding RESP against `redis-protocol` (its zero-copy `BytesMut` decoder) and
//! `resp-rs`, on the same bytes: 16 pipelined SETs (what a server reads under `-P 16`), a
//! 1 MiB bulk string, and arrays nested 64 deep. Each library decodes into its own frame type
//! and encodes that frame back. Beside the 1 MiB bulk, a `floor` that does not decode: the
//! least any decoder returning a `Bytes` slice of the buffer must do.
//!
//! Run: `cargo bench -p byo-resp --bench codec`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;

use byo_resp::{Decoder, Frame, RequestParser};
use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redis_protocol::resp3::{decode::complete as rp_decode, encode::complete as rp_encode};

/// The three inputs, each a sequence of whole frames.
fn inputs() -> Vec<(&'static str, Vec<u8>, usize)> {
    let mut sets = Vec::new();
    for i in 0..16 {
        let key = format!("key:{i:012}");
        let value = format!("value:{i:010}");
        Frame::command(["SET", &key, &value]).encode(&mut sets);
    }
    let mut bulk = Vec::new();
    Frame::Bulk(Bytes::from(vec![b'x'; 1 << 20])).encode(&mut bulk);
    let mut nested = Frame::Integer(0);
    for depth in 1..64 {
        nested = Frame::Array(vec![Frame::Integer(depth), nested]);
    }
    vec![("16-sets", sets, 16), ("bulk-1MiB", bulk, 1), ("nested-64", nested.to_bytes(), 1)]
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, bytes, frames) in inputs() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        // The input is copied into a fresh buffer outside the timed part (`iter_batched`), as
        // if just read from a socket; the frames are dropped inside it.
        group.bench_with_input(BenchmarkId::new("byo-resp", name), &bytes, |b, bytes| {
            b.iter_batched(
                || BytesMut::from(&bytes[..]),
                |mut buf| {
                    let mut decoder = Decoder::default();
                    for _ in 0..frames {
                        black_box(decoder.decode(&mut buf).expect("valid").expect("whole"));
                    }
                },
                BatchSize::LargeInput,
            )
        });
        if name == "16-sets" {
            group.bench_with_input(
                BenchmarkId::new("byo-resp request parser", name),
                &bytes,
                |b, bytes| {
                    b.iter_batched(
                        || BytesMut::from(&bytes[..]),
                        |mut buf| {
                            let mut parser = RequestParser::default();
                            for _ in 0..frames {
                                black_box(
                                    parser.parse(&mut buf, true).expect("valid").expect("whole"),
                                );
                            }
                        },
                        BatchSize::LargeInput,
                    )
                },
            );
        }
        if name == "bulk-1MiB" {
            // Not a decoder: what any decoder that returns the payload as a `Bytes` slice of
            // this buffer does at the least, with no byte of it read. The buffer is split
            // (which allocates `bytes`' shared header), the piece narrowed to the payload and
            // frozen, and all of it dropped. No decoder can take less than this.
            group.bench_with_input(BenchmarkId::new("floor", name), &bytes, |b, bytes| {
                let header = bytes.len() - (1 << 20) - 2;
                b.iter_batched(
                    || BytesMut::from(&bytes[..]),
                    |mut buf| {
                        let mut piece = buf.split_to(buf.len());
                        piece.advance(header);
                        piece.truncate(1 << 20);
                        black_box(piece.freeze());
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        group.bench_with_input(BenchmarkId::new("redis-protocol", name), &bytes, |b, bytes| {
            b.iter_batched(
                || BytesMut::from(&bytes[..]),
                |mut buf| {
                    for _ in 0..frames {
                        black_box(
                            rp_decode::decode_bytes_mut(&mut buf).expect("valid").expect("whole"),
                        );
                    }
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("resp-rs", name), &bytes, |b, bytes| {
            b.iter_batched(
                || Bytes::copy_from_slice(bytes),
                |mut rest| {
                    for _ in 0..frames {
                        let (frame, tail) = resp_rs::resp3::parse_frame(rest).expect("valid");
                        black_box(frame);
                        rest = tail;
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, bytes, frames) in inputs() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = Decoder::default();
        let ours: Vec<Frame> =
            (0..frames).map(|_| decoder.decode(&mut buf).expect("valid").expect("whole")).collect();
        let mut buf = BytesMut::from(&bytes[..]);
        let theirs: Vec<_> = (0..frames)
            .map(|_| rp_decode::decode_bytes_mut(&mut buf).expect("valid").expect("whole").0)
            .collect();
        let mut rest = Bytes::copy_from_slice(&bytes);
        let resp_rs: Vec<_> = (0..frames)
            .map(|_| {
                let (frame, tail) = resp_rs::resp3::parse_frame(rest.clone()).expect("valid");
                rest = tail;
                frame
            })
            .collect();
        group.bench_function(BenchmarkId::new("byo-resp", name), |b| {
            b.iter(|| {
                let mut out = BytesMut::with_capacity(bytes.len());
                ours.iter().for_each(|f| f.encode(&mut out));
                black_box(out)
            })
        });
        group.bench_function(BenchmarkId::new("redis-protocol", name), |b| {
            b.iter(|| {
                let mut out = BytesMut::with_capacity(bytes.len());
                for frame in &theirs {
                    rp_encode::extend_encode(&mut out, frame, false).expect("encodes");
                }
                black_box(out)
            })
        });
        group.bench_function(BenchmarkId::new("resp-rs", name), |b| {
            b.iter(|| {
                let mut out = BytesMut::with_capacity(bytes.len());
                for frame in &resp_rs {
                    out.extend_from_slice(&resp_rs::resp3::frame_to_bytes(frame));
                }
                black_box(out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
