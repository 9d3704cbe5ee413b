//! The write-ahead log: accepted means durable.
//!
//! A receiver answers success only once the request is in the log (see
//! [`Wal::append`]): the request, as OTLP protobuf (the bytes the client
//! sent, or the request encoded when it came as JSON), is appended to the
//! current segment file under `<data_dir>/wal/`, and appends are fsynced
//! in groups, many requests per fsync. Its rows then go to the batching
//! writers carrying a [`Hold`] on the record; once every writer has written
//! its part, the record is done, and segments whose records are all done
//! are deleted. At start, [`Wal::open`] reads the segments back in order
//! and hands their records over for replay.
//!
//! Invariants:
//! - queue room is reserved before a request is logged, so a logged request
//!   is never refused afterwards;
//! - a record leaves the log only after its rows are in ClickHouse (or were
//!   refused by ClickHouse as bad data, which is counted);
//! - the log's size is bounded in bytes: when full, appends are refused and
//!   the receivers answer "retry later";
//! - a torn or corrupt tail is detected by length and CRC-32: the intact
//!   records before it are kept, the damage is logged and counted.

mod log;
mod metrics;
pub mod record;
mod tracker;

pub use log::{Wal, WalConfig, WalSync, DEFAULT_WAL_MAX_BYTES};
pub use metrics::WalMetrics;
pub use record::{Record, RecordKind};
pub use tracker::Hold;

/// Why the log could not take or give back a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    #[error("the write-ahead log is full")]
    Full,
    #[error("write-ahead log i/o: {0}")]
    Io(String),
    #[error("write-ahead log damaged: {0}")]
    Corrupt(String),
    #[error("the write-ahead log is closed")]
    Closed,
}

impl From<std::io::Error> for WalError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error.to_string())
    }
}
