//! The binary workload format of the published matching-engine benchmark, and its canonical
//! report stream. Pure functions over bytes.
//!
//! A workload is a 16-byte header then one 40-byte record per message, little-endian:
//!
//! ```text
//!   header:  0  8  magic "100_WBEM"
//!            8  4  version (u32) = 1
//!            12 4  message count (u32)
//!   record:  0  1  type: 0 new, 1 cancel, 2 modify
//!            1  1  side: 0 buy, 1 sell
//!            2  1  ioc: 1 = immediate-or-cancel (new orders)
//!            3  1  padding
//!            4  4  quantity (u32; a modify's new quantity)
//!            8  8  sequence number (u64)
//!            16 8  order id (u64)
//!            24 8  price in ticks (i64; a modify's new price)
//!            32 8  reserved
//! ```

use crate::event::Event;
use crate::le::{u32_at, u64_at};
use crate::types::{Command, NewOrder, Side, TimeInForce};

/// The header's magic bytes.
pub const MAGIC: [u8; 8] = *b"100_WBEM";
/// Bytes in the header.
pub const HEADER: usize = 16;
/// Bytes per record.
pub const RECORD: usize = 40;

/// Why a workload could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The file does not start with the magic.
    #[error("not a workload file: bad magic")]
    Magic,
    /// A version this decoder does not know.
    #[error("unsupported workload version {0} (this decoder reads version 1)")]
    Version(u32),
    /// The header's count does not match the bytes that follow.
    #[error("header says {count} records, but {bytes} bytes follow it (expected {expected})")]
    Length {
        /// Records the header announces.
        count: u32,
        /// Bytes after the header.
        bytes: usize,
        /// Bytes that many records take.
        expected: u64,
    },
    /// A record with an unknown type or side byte.
    #[error("record {index}: invalid {field} byte {value}")]
    Field {
        /// The record's position.
        index: usize,
        /// "type", "side" or "ioc".
        field: &'static str,
        /// The byte found.
        value: u8,
    },
}

/// Decodes a whole workload. The length is checked against the header before anything is
/// allocated, so a corrupt count costs an error.
pub fn decode(bytes: &[u8]) -> Result<Vec<Command>, WorkloadError> {
    if bytes.len() < HEADER || bytes[..8] != MAGIC {
        return Err(WorkloadError::Magic);
    }
    let version = u32_at(bytes, 8);
    if version != 1 {
        return Err(WorkloadError::Version(version));
    }
    let count = u32_at(bytes, 12);
    let body = &bytes[HEADER..];
    let expected = u64::from(count) * RECORD as u64;
    if body.len() as u64 != expected {
        return Err(WorkloadError::Length { count, bytes: body.len(), expected });
    }
    body.chunks_exact(RECORD).enumerate().map(|(index, r)| decode_record(index, r)).collect()
}

fn decode_record(index: usize, r: &[u8]) -> Result<Command, WorkloadError> {
    let invalid = |field, value| WorkloadError::Field { index, field, value };
    let side = Side::from_code(r[1]).ok_or_else(|| invalid("side", r[1]))?;
    let qty = u64::from(u32_at(r, 4));
    let (seq, id, price) = (u64_at(r, 8), u64_at(r, 16), u64_at(r, 24) as i64);
    Ok(match r[0] {
        0 => {
            let tif = match r[2] {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Ioc,
                other => return Err(invalid("ioc", other)),
            };
            Command::New(NewOrder { tif, ..NewOrder::limit(seq, id, side, price, qty) })
        }
        1 => Command::Cancel { seq, id },
        2 => Command::Modify { seq, id, price, qty },
        other => return Err(invalid("type", other)),
    })
}

/// Writes one message's events as canonical report lines, each preceded by a newline except
/// the very first line of the stream (`first`). Events the format has no line for (see
/// [`Event::report_type`]) are left out.
///
/// The published format sorts all reports stably by (sequence number, report type). Events
/// of one message share a sequence number, so sorting each message's events stably by type
/// gives the same stream, as long as messages come in sequence order.
pub fn write_reports(events: &mut [Event], first: &mut bool, out: &mut Vec<u8>) {
    events.sort_by_key(Event::report_type);
    for event in events.iter().filter(|e| e.report_type().is_some()) {
        if !std::mem::take(first) {
            out.push(b'\n');
        }
        event.write_canonical(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(count: u32) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes
    }

    #[test]
    fn decodes_each_message_type() {
        let mut bytes = header(2);
        let mut new = [0u8; RECORD];
        new[1] = 1;
        new[4..8].copy_from_slice(&88u32.to_le_bytes());
        new[16..24].copy_from_slice(&814347u64.to_le_bytes());
        new[24..32].copy_from_slice(&33721i64.to_le_bytes());
        let mut cancel = [0u8; RECORD];
        cancel[0] = 1;
        cancel[8..16].copy_from_slice(&1u64.to_le_bytes());
        cancel[16..24].copy_from_slice(&814347u64.to_le_bytes());
        bytes.extend_from_slice(&new);
        bytes.extend_from_slice(&cancel);
        let commands = decode(&bytes).unwrap();
        assert_eq!(
            commands,
            [
                Command::New(NewOrder::limit(0, 814347, Side::Sell, 33721, 88)),
                Command::Cancel { seq: 1, id: 814347 },
            ]
        );
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        assert_eq!(decode(b"short"), Err(WorkloadError::Magic));
        let mut bytes = header(1_000_000);
        assert!(matches!(decode(&bytes), Err(WorkloadError::Length { count: 1_000_000, .. })));
        bytes = header(1);
        bytes.extend_from_slice(&[7u8; RECORD]);
        assert!(matches!(
            decode(&bytes),
            Err(WorkloadError::Field { field: "side", value: 7, .. })
        ));
    }
}
