//! A behavioural suite for any RESP decoder (feature `testkit`).
//!
//! Implement [`FrameDecoder`] for your parser (turning its values into [`Frame`]s) and run:
//!
//! - [`check`]: a fixed corpus ([`cases::CASES`]): every RESP2 and RESP3 type, each delivered
//!   whole, one byte per read, and split in two at every offset; and malformed input, which
//!   must be an error, not a frame and not a wait for bytes that can never make it valid;
//! - [`check_random`]: random frames nested four deep, encoded by this crate and delivered in
//!   random reads, must decode to the same frames.
//!
//! ```
//! use byo_resp::{testkit, Decoder};
//!
//! let report = testkit::check(Decoder::default);
//! assert!(report.failed.is_empty(), "{:?}", report.failed);
//! let report = testkit::check_random(Decoder::default, 64);
//! assert!(report.failed.is_empty(), "{:?}", report.failed);
//! ```
//!
//! Servers are checked from outside instead: `byo check redis HOST:PORT` (see [`crate::check`]).

pub mod cases;
mod strategy;

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

pub use cases::{CASES, Case, Expect};
pub use strategy::{blob as blob_strategy, frame as frame_strategy};

use crate::{Decoder, Frame};

/// A RESP decoder under test.
pub trait FrameDecoder {
    /// Decodes the next frame from the front of `buf` and removes its bytes; `Ok(None)` if
    /// `buf` does not hold a whole frame yet (the decoder may keep what it has read, or leave
    /// it in `buf`); `Err` with any message if the input can never be valid.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, String>;
}

impl FrameDecoder for Decoder {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, String> {
        Decoder::decode(self, buf).map_err(|e| e.to_string())
    }
}

/// What a check found: the cases that passed, and for each failure what went wrong.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Checks that passed.
    pub passed: usize,
    /// Each failed check: the case's name and what went wrong.
    pub failed: Vec<(String, String)>,
}

/// Feeds `reads` one after another to a fresh decoder, collecting frames until it errs.
fn feed<D: FrameDecoder>(decoder: &mut D, reads: &[&[u8]]) -> (Vec<Frame>, Option<String>, usize) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e), buf.len()),
            }
        }
    }
    (frames, None, buf.len())
}

/// Frames compared by their encoding, so that a NaN double equals itself.
fn same(a: &[Frame], b: &[Frame]) -> bool {
    let bytes = |frames: &[Frame]| {
        let mut out = Vec::new();
        frames.iter().for_each(|f| f.encode(&mut out));
        out
    };
    a.len() == b.len() && bytes(a) == bytes(b)
}

/// Runs one case delivered as `reads`; `None` if it passed.
fn run_case<D: FrameDecoder>(case: &Case, decoder: &mut D, reads: &[&[u8]]) -> Option<String> {
    let (frames, error, left) = feed(decoder, reads);
    match (&case.expect, error) {
        (Expect::Frames(want), None) if same(&frames, want) && left == 0 => None,
        (Expect::Frames(want), None) => {
            Some(format!("wanted {want:?}, got {frames:?} with {left} bytes left in the buffer"))
        }
        (Expect::Frames(_), Some(e)) => Some(format!("valid input refused: {e}")),
        (Expect::Error, Some(_)) => None,
        (Expect::Error, None) => Some(format!(
            "malformed input accepted: got {frames:?}, then waited for more with {left} bytes"
        )),
    }
}

/// `bytes` as the reads of a socket that end at `cuts` (each taken modulo the length, in any
/// order): the pieces, in order, that together are `bytes`.
pub fn reads<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut from = 0;
    cuts.into_iter()
        .map(|cut| {
            let read = &bytes[from..cut];
            from = cut;
            read
        })
        .collect()
}

/// Runs every case of [`CASES`] through decoders made by `new`: whole, one byte per read, and
/// (for valid input) split in two at every offset.
pub fn check<D: FrameDecoder>(mut new: impl FnMut() -> D) -> Report {
    let mut report = Report::default();
    for case in CASES.iter() {
        let bytes = case.bytes;
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        let mut ways: Vec<(String, Vec<&[u8]>)> =
            vec![("whole".into(), vec![bytes]), ("one byte per read".into(), bytewise)];
        if matches!(case.expect, Expect::Frames(_)) {
            for cut in 1..bytes.len() {
                let (a, b) = bytes.split_at(cut);
                ways.push((format!("split at byte {cut}"), vec![a, b]));
            }
        }
        for (way, reads) in ways {
            match run_case(case, &mut new(), &reads) {
                None => report.passed += 1,
                Some(why) => report.failed.push((format!("{} ({way})", case.name), why)),
            }
        }
    }
    report
}

/// Encodes `cases` random frames (1 to 3 at a time, nested up to four deep) with this crate,
/// delivers them to decoders made by `new` in random reads, and checks that the same frames
/// come back. A failure is reported with the smallest input proptest found.
pub fn check_random<D: FrameDecoder>(new: impl FnMut() -> D, cases: u32) -> Report {
    let new = std::cell::RefCell::new(new);
    let mut runner =
        TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let input = (
        proptest::collection::vec(frame_strategy(), 1..4),
        proptest::collection::vec(any::<usize>(), 0..8),
    );
    let result = runner.run(&input, |(frames, cuts)| {
        let mut bytes = Vec::new();
        frames.iter().for_each(|f| f.encode(&mut bytes));
        let mut decoder = (new.borrow_mut())();
        let (decoded, error, left) = feed(&mut decoder, &reads(&bytes, &cuts));
        if let Some(e) = error {
            return Err(TestCaseError::fail(format!("valid input refused: {e}")));
        }
        if !same(&decoded, &frames) || left != 0 {
            return Err(TestCaseError::fail(format!(
                "got {decoded:?} with {left} bytes left in the buffer"
            )));
        }
        Ok(())
    });
    match result {
        Ok(()) => Report { passed: cases as usize, failed: Vec::new() },
        Err(e) => Report { passed: 0, failed: vec![("random frames".into(), e.to_string())] },
    }
}
