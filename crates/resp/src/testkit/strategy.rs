//! Random frames for property tests: every type, nested up to four deep.

use bytes::Bytes;
use proptest::prelude::*;

use crate::Frame;

fn line_text() -> impl Strategy<Value = Bytes> {
    // Simple strings and errors may hold anything but CR and LF.
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
    .prop_map(Bytes::from)
}

/// Any bytes, as a bulk payload.
pub fn blob() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn scalar() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_text().prop_map(Frame::Simple),
        line_text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        blob().prop_map(Frame::Bulk),
        blob().prop_map(Frame::BlobError),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        any::<f64>().prop_map(Frame::Double),
        (any::<bool>(), "[1-9][0-9]{0,40}").prop_map(|(negative, digits)| {
            Frame::BigNumber(Bytes::from(format!("{}{digits}", if negative { "-" } else { "" })))
        }),
        (proptest::array::uniform3(any::<u8>()), blob())
            .prop_map(|(format, text)| Frame::Verbatim { format, text }),
    ]
}

/// Any frame: every scalar type, and aggregates of them nested up to four deep.
pub fn frame() -> impl Strategy<Value = Frame> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        let list = proptest::collection::vec(inner.clone(), 0..6);
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            list.clone().prop_map(Frame::Array),
            list.clone().prop_map(Frame::Set),
            list.prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attributes, value)| Frame::Attribute {
                attributes,
                value: Box::new(value)
            }),
        ]
    })
}
