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

/// Default most spans in one request; the rest is rejected with a reason.
pub const DEFAULT_MAX_SPANS_PER_REQUEST: usize = 100_000;
/// Default most attributes kept per span (the OpenTelemetry SDKs' default).
pub const DEFAULT_MAX_ATTRIBUTES_PER_SPAN: usize = 128;
/// Default longest string or bytes value kept, in bytes; longer ones are truncated.
pub const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES: usize = 16 * 1024;
/// Default deepest nesting of array and key/value list values.
pub const DEFAULT_MAX_VALUE_DEPTH: usize = 8;
/// Default most events kept per span.
pub const DEFAULT_MAX_EVENTS_PER_SPAN: usize = 128;
/// Default most links kept per span.
pub const DEFAULT_MAX_LINKS_PER_SPAN: usize = 128;

/// Default most requests each receiver (gRPC, HTTP) handles at once; more get "retry later".
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;
/// Default longest time to receive an OTLP/HTTP request body.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits on the spans of one request. What they cut is counted in
/// `tracehouse_truncated_items_total` (or, for spans over the request
/// limit, `tracehouse_rejected_items_total`) and named in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    /// Spans after this many in one request are rejected.
    pub max_spans_per_request: usize,
    /// Attributes after this many on a span (or its events and links) are dropped.
    pub max_attributes_per_span: usize,
    /// String and bytes values are truncated to this many bytes (at a character boundary).
    pub max_attribute_value_bytes: usize,
    /// Array and key/value list values nested deeper are replaced by an empty value.
    pub max_value_depth: usize,
    /// Events after this many on a span are dropped.
    pub max_events_per_span: usize,
    /// Links after this many on a span are dropped.
    pub max_links_per_span: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        Self {
            max_spans_per_request: DEFAULT_MAX_SPANS_PER_REQUEST,
            max_attributes_per_span: DEFAULT_MAX_ATTRIBUTES_PER_SPAN,
            max_attribute_value_bytes: DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES,
            max_value_depth: DEFAULT_MAX_VALUE_DEPTH,
            max_events_per_span: DEFAULT_MAX_EVENTS_PER_SPAN,
            max_links_per_span: DEFAULT_MAX_LINKS_PER_SPAN,
        }
    }
}

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
    /// Limits on the spans of a request.
    pub spans: SpanLimits,
    /// Requests each receiver handles at once; more are answered "retry later".
    pub max_concurrent_requests: usize,
    /// An OTLP/HTTP body not received within this is refused (408).
    pub body_read_timeout: Duration,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_span_age: DEFAULT_MAX_SPAN_AGE,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
            spans: SpanLimits::default(),
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

/// Settings of one batching writer. Writers made with clones of one
/// config share its `queue`.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// A batch is written once it holds this many rows.
    pub batch_max_rows: usize,
    /// A batch is written once its first row has waited this long.
    pub batch_max_age: Duration,
    /// Rows that may be queued or in flight before new ones are refused.
    pub queue_max_rows: usize,
    /// The byte budget of the queue, shared with the other writers, and each project's share.
    pub queue: crate::queue::WriteQueue,
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
            queue: crate::queue::WriteQueue::default(),
            retry_initial_backoff: Duration::from_millis(100),
            retry_max_backoff: Duration::from_secs(5),
            retry_give_up_after: Duration::from_secs(300),
        }
    }
}
