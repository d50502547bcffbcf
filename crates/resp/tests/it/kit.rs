//! The testkit against this crate's decoder, and against decoders broken on purpose: each must
//! fail exactly the checks its fault concerns.

use byo_resp::Decoder;
use byo_resp::testkit::{self, CASES, Expect, FrameDecoder};
use bytes::BytesMut;

#[test]
fn the_decoder_passes_the_corpus_and_random_frames() {
    let report = testkit::check(Decoder::default);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let valid = CASES.iter().filter(|c| matches!(c.expect, Expect::Frames(_)));
    let splits: usize = valid.map(|c| c.bytes.len() - 1).sum();
    assert_eq!(report.passed, 2 * CASES.len() + splits);
    let report = testkit::check_random(Decoder::default, 256);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
}

/// Waits for more bytes instead of reporting malformed input.
struct NeverFails(Decoder);

impl FrameDecoder for NeverFails {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<byo_resp::Frame>, String> {
        Ok(self.0.decode(buf).unwrap_or(None))
    }
}

/// Only decodes a frame that arrived in one read, and refuses anything else.
struct OneRead(Decoder);

impl FrameDecoder for OneRead {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<byo_resp::Frame>, String> {
        match self.0.decode(buf) {
            Ok(None) if !buf.is_empty() || self.0.is_mid_frame() => Err("incomplete".into()),
            other => other.map_err(|e| e.to_string()),
        }
    }
}

#[test]
fn a_decoder_that_never_reports_errors_fails_every_malformed_case_only() {
    let report = testkit::check(|| NeverFails(Decoder::default()));
    let errors = CASES.iter().filter(|c| matches!(c.expect, Expect::Error)).count();
    // Each malformed case is run whole and one byte per read.
    assert_eq!(report.failed.len(), 2 * errors, "{:?}", report.failed);
    assert!(report.failed.iter().all(|(_, why)| why.starts_with("malformed input accepted")));
}

#[test]
fn a_decoder_that_cannot_resume_fails_the_split_reads() {
    let report = testkit::check(|| OneRead(Decoder::default()));
    assert!(!report.failed.is_empty());
    assert!(
        report.failed.iter().all(|(name, _)| !name.ends_with("(whole)")),
        "{:?}",
        report.failed
    );
    let report = testkit::check_random(|| OneRead(Decoder::default()), 256);
    assert_eq!(report.failed.len(), 1);
}
