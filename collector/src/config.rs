//! Settings of the receivers and the writer. The binary fills them from the
//! layered configuration; defaults are named constants.

use std::time::Duration;

/// Default largest accepted request body (after decompression too): 16 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Default flush threshold in rows.
pub const DEFAULT_BATCH_MAX_ROWS: usize = 20_000;
/// Default flush threshold in age of the oldest row of a batch.
pub const DEFAULT_BATCH_MAX_AGE: Duration = Duration::from_secs(1);
/// Default number of rows that may wait for ClickHouse before receivers push back.
pub const DEFAULT_QUEUE_MAX_ROWS: usize = 200_000;
/// Default span age limit, matching the default retention.
pub const DEFAULT_MAX_SPAN_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far in the future a span may start (clock skew) before it is rejected.
pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(24 * 3600);

/// Limits the receivers enforce on each request.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Largest request body in bytes, compressed or not.
    pub max_request_bytes: usize,
    /// Spans that started longer ago are rejected (their day is already
    /// dropped, or about to be, by retention).
    pub max_span_age: Duration,
    /// Spans that start further in the future are rejected.
    pub max_future_skew: Duration,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_span_age: DEFAULT_MAX_SPAN_AGE,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
        }
    }
}

/// Settings of one batching writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// A batch is written once it holds this many rows.
    pub batch_max_rows: usize,
    /// A batch is written once its first row has waited this long.
    pub batch_max_age: Duration,
    /// Rows that may be queued or in flight before new ones are refused.
    pub queue_max_rows: usize,
    /// First wait before retrying a failed write; doubles up to `retry_max_backoff`.
    pub retry_initial_backoff: Duration,
    /// Longest wait between retries.
    pub retry_max_backoff: Duration,
    /// A batch that still fails after retrying this long is dropped and counted.
    pub retry_give_up_after: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            batch_max_rows: DEFAULT_BATCH_MAX_ROWS,
            batch_max_age: DEFAULT_BATCH_MAX_AGE,
            queue_max_rows: DEFAULT_QUEUE_MAX_ROWS,
            retry_initial_backoff: Duration::from_millis(100),
            retry_max_backoff: Duration::from_secs(5),
            retry_give_up_after: Duration::from_secs(300),
        }
    }
}
