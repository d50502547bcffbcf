//! The ranges of `ZRANGEBYSCORE` and `ZRANGEBYLEX` and their spellings: a score bound is a
//! number, `(` before it makes it exclusive, and `-inf`/`+inf` leave that end open; a lex
//! bound is `[member` (inclusive), `(member` (exclusive), or `-`/`+` for no bound.

/// A bound of a score range: `(1.5` is exclusive, `1.5` inclusive, `-inf`/`+inf` open.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ScoreRange {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) min_exclusive: bool,
    pub(crate) max_exclusive: bool,
}

impl ScoreRange {
    /// Parses Redis's `min` and `max` arguments, or `None` if either is not a float.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_exclusive) = parse_score_bound(min)?;
        let (max, max_exclusive) = parse_score_bound(max)?;
        Some(ScoreRange { min, max, min_exclusive, max_exclusive })
    }

    pub(super) fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive { score > self.min } else { score >= self.min }
    }

    pub(super) fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive { score < self.max } else { score <= self.max }
    }

    /// Whether no score can be in the range.
    pub(super) fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

fn parse_score_bound(text: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match text {
        [b'(', rest @ ..] => (rest, true),
        _ => (text, false),
    };
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    (!value.is_nan()).then_some((value, exclusive))
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

/// A lexicographic range, for members that all have the same score.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexRange {
    pub(crate) min: LexBound,
    pub(crate) max: LexBound,
}

impl LexRange {
    /// Parses Redis's `min` and `max` arguments, or `None` if either is malformed.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange { min: parse_lex_bound(min)?, max: parse_lex_bound(max)? })
    }

    pub(super) fn above_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(min) => member >= &min[..],
            LexBound::Exclusive(min) => member > &min[..],
        }
    }

    pub(super) fn below_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(max) => member <= &max[..],
            LexBound::Exclusive(max) => member < &max[..],
        }
    }
}

fn parse_lex_bound(text: &[u8]) -> Option<LexBound> {
    match text {
        b"-" => Some(LexBound::Min),
        b"+" => Some(LexBound::Max),
        [b'[', rest @ ..] => Some(LexBound::Inclusive(rest.to_vec())),
        [b'(', rest @ ..] => Some(LexBound::Exclusive(rest.to_vec())),
        _ => None,
    }
}
