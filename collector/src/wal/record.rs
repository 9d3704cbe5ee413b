//! The on-disk record format of the write-ahead log, and reading a segment
//! back with torn or corrupt tails detected.
//!
//! A record is `len: u32 LE | crc32: u32 LE | body`, where `body` (of `len`
//! bytes) is `seq: u64 LE | kind: u8 | project_len: u16 LE | project | payload`
//! and the CRC-32 covers the body. A segment is records back to back.

use super::WalError;

/// Bytes before the body: its length and its checksum.
pub const HEADER_BYTES: usize = 8;
/// Bytes of the body before the project name.
const BODY_FIXED_BYTES: usize = 8 + 1 + 2;
/// A body larger than this is corrupt (requests are capped far below it).
pub const MAX_BODY_BYTES: usize = 1 << 30;

/// Which OTLP export request a record holds (its payload is that request as protobuf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Traces,
    Metrics,
    Logs,
}

impl RecordKind {
    fn code(self) -> u8 {
        match self {
            Self::Traces => 1,
            Self::Metrics => 2,
            Self::Logs => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Traces),
            2 => Some(Self::Metrics),
            3 => Some(Self::Logs),
            _ => None,
        }
    }
}

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub kind: RecordKind,
    pub project: String,
    pub payload: Vec<u8>,
}

/// Encodes a record with sequence number `seq`, header included.
pub fn encode(seq: u64, kind: RecordKind, project: &str, payload: &[u8]) -> Vec<u8> {
    let project = &project.as_bytes()[..project.len().min(usize::from(u16::MAX))];
    let body_len = BODY_FIXED_BYTES + project.len() + payload.len();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + body_len);
    bytes.extend_from_slice(&u32::try_from(body_len).unwrap_or(u32::MAX).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&seq.to_le_bytes());
    bytes.push(kind.code());
    bytes.extend_from_slice(
        &u16::try_from(project.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    bytes.extend_from_slice(project);
    bytes.extend_from_slice(payload);
    let crc = crc32fast::hash(&bytes[HEADER_BYTES..]);
    bytes[4..8].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// What reading a segment found.
#[derive(Debug, Default)]
pub struct SegmentContents {
    /// The intact records, in order.
    pub records: Vec<Record>,
    /// Bytes of the intact prefix; anything after it is damaged.
    pub intact_bytes: u64,
    /// Why reading stopped early, if it did.
    pub damage: Option<WalError>,
}

/// Decodes the records of a segment's bytes, stopping at the first damaged one.
pub fn decode_segment(bytes: &[u8]) -> SegmentContents {
    let mut contents = SegmentContents::default();
    let mut offset = 0usize;
    while offset < bytes.len() {
        match decode_one(&bytes[offset..]) {
            Ok((record, used)) => {
                contents.records.push(record);
                offset += used;
                contents.intact_bytes = offset as u64;
            }
            Err(damage) => {
                contents.damage = Some(damage);
                break;
            }
        }
    }
    contents
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn decode_one(bytes: &[u8]) -> Result<(Record, usize), WalError> {
    let torn = |what: &str| WalError::Corrupt(what.to_owned());
    let body_len = read_u32(bytes, 0).ok_or_else(|| torn("torn record header"))? as usize;
    let crc = read_u32(bytes, 4).ok_or_else(|| torn("torn record header"))?;
    if !(BODY_FIXED_BYTES..=MAX_BODY_BYTES).contains(&body_len) {
        return Err(torn("impossible record length"));
    }
    let body = bytes
        .get(HEADER_BYTES..HEADER_BYTES + body_len)
        .ok_or_else(|| torn("torn record body"))?;
    if crc32fast::hash(body) != crc {
        return Err(torn("record checksum mismatch"));
    }
    let seq = u64::from_le_bytes(body[0..8].try_into().map_err(|_| torn("bad sequence"))?);
    let kind = RecordKind::from_code(body[8]).ok_or_else(|| torn("unknown record kind"))?;
    let project_len = usize::from(u16::from_le_bytes([body[9], body[10]]));
    let project = body
        .get(BODY_FIXED_BYTES..BODY_FIXED_BYTES + project_len)
        .ok_or_else(|| torn("project name past the record"))?;
    let record = Record {
        seq,
        kind,
        project: String::from_utf8_lossy(project).into_owned(),
        payload: body[BODY_FIXED_BYTES + project_len..].to_vec(),
    };
    Ok((record, HEADER_BYTES + body_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_records() -> Vec<u8> {
        let mut bytes = encode(1, RecordKind::Traces, "default", b"spans");
        bytes.extend(encode(2, RecordKind::Logs, "payments", b""));
        bytes
    }

    #[test]
    fn round_trips() {
        let contents = decode_segment(&two_records());
        assert!(contents.damage.is_none());
        assert_eq!(contents.intact_bytes, two_records().len() as u64);
        assert_eq!(
            contents.records[0],
            Record {
                seq: 1,
                kind: RecordKind::Traces,
                project: "default".to_owned(),
                payload: b"spans".to_vec(),
            }
        );
        assert_eq!(contents.records[1].project, "payments");
        assert!(contents.records[1].payload.is_empty());
    }

    #[test]
    fn a_torn_tail_keeps_the_intact_records() {
        let bytes = two_records();
        let first_len = encode(1, RecordKind::Traces, "default", b"spans").len();
        for cut in first_len + 1..bytes.len() {
            let contents = decode_segment(&bytes[..cut]);
            assert_eq!(contents.records.len(), 1, "cut at {cut}");
            assert_eq!(contents.intact_bytes, first_len as u64);
            assert!(contents.damage.is_some());
        }
    }

    #[test]
    fn a_flipped_bit_is_detected() {
        let mut bytes = two_records();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x10;
        let contents = decode_segment(&bytes);
        assert_eq!(contents.records.len(), 1);
        assert!(matches!(contents.damage, Some(WalError::Corrupt(_))));
    }

    #[test]
    fn random_bytes_are_damage_not_records() {
        let mut state = 0x2545_f491_u32;
        for length in 0..300 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let contents = decode_segment(&bytes);
            assert!(contents.intact_bytes <= bytes.len() as u64);
            assert!(
                contents.records.is_empty(),
                "random bytes decoded as a record"
            );
        }
    }
}
