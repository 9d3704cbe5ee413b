//! Prometheus metrics of the write path. Label values come from small fixed
//! sets (signal, transport, reason, table), never from client input.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of per-signal counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalLabels {
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
}

/// Labels of rejected items.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub signal: &'static str,
    /// A fixed reason such as `invalid_trace_id`.
    pub reason: &'static str,
}

/// Labels of parts of items cut by a limit.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TruncateLabels {
    pub signal: &'static str,
    /// A fixed limit name such as `attributes_per_span`.
    pub limit: &'static str,
}

/// Labels of requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub signal: &'static str,
    /// `grpc` or `http`.
    pub transport: &'static str,
    /// `ok`, `partial`, `invalid`, `too_large`, `saturated`, `error`.
    pub outcome: &'static str,
}

/// Counters of the receivers.
#[derive(Debug, Default)]
pub struct IngestMetrics {
    /// Items (spans, points, log records) in requests that decoded.
    pub received: Family<SignalLabels, Counter>,
    /// Items handed to the writer.
    pub accepted: Family<SignalLabels, Counter>,
    /// Items refused, by reason.
    pub rejected: Family<RejectLabels, Counter>,
    /// Attributes, values, events and links cut by a limit, by limit.
    pub truncated: Family<TruncateLabels, Counter>,
    /// Requests, by outcome.
    pub requests: Family<RequestLabels, Counter>,
}

impl IngestMetrics {
    /// Registers the counters in `registry`.
    pub fn register(registry: &mut Registry) -> std::sync::Arc<Self> {
        let metrics = Self::default();
        registry.register(
            "tracehouse_received_items",
            "Spans, metric points or log records received in decodable requests",
            metrics.received.clone(),
        );
        registry.register(
            "tracehouse_accepted_items",
            "Spans, metric points or log records accepted and queued for writing",
            metrics.accepted.clone(),
        );
        registry.register(
            "tracehouse_rejected_items",
            "Spans, metric points or log records refused, by reason",
            metrics.rejected.clone(),
        );
        registry.register(
            "tracehouse_truncated_items",
            "Attributes, values, events and links dropped or shortened by an ingest limit, by limit",
            metrics.truncated.clone(),
        );
        registry.register(
            "tracehouse_otlp_requests",
            "OTLP export requests by signal, transport and outcome",
            metrics.requests.clone(),
        );
        std::sync::Arc::new(metrics)
    }

    /// Counts `count` rejected items of `signal` for `reason`.
    pub fn reject(&self, signal: &'static str, reason: &'static str, count: u64) {
        self.rejected
            .get_or_create(&RejectLabels { signal, reason })
            .inc_by(count);
    }

    /// Counts `count` parts of `signal` items cut by `limit`.
    pub fn truncate(&self, signal: &'static str, limit: &'static str, count: u64) {
        self.truncated
            .get_or_create(&TruncateLabels { signal, limit })
            .inc_by(count);
    }

    /// Counts one request.
    pub fn request(&self, signal: &'static str, transport: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels {
                signal,
                transport,
                outcome,
            })
            .inc();
    }
}

/// Labels of writer metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: &'static str,
}

/// Labels of write errors.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteErrorLabels {
    pub table: &'static str,
    /// `retryable` or `fatal`.
    pub kind: &'static str,
}

/// Metrics of the batching writers.
#[derive(Debug)]
pub struct WriterMetrics {
    /// Rows written to ClickHouse.
    pub rows_written: Family<TableLabels, Counter>,
    /// Rows given up on after retries or on a non-retryable error.
    pub rows_dropped: Family<TableLabels, Counter>,
    /// Failed insert attempts.
    pub write_errors: Family<WriteErrorLabels, Counter>,
    /// Rows queued or in flight.
    pub queue_rows: Family<TableLabels, Gauge>,
    /// Bytes held by queued or in-flight rows, every table together.
    pub queue_bytes: Gauge,
    /// Time to write one batch, retries included.
    pub flush_seconds: Family<TableLabels, Histogram>,
    /// Whether each writer task runs, and its restarts after panics.
    pub states: crate::supervise::WriterStates,
}

impl WriterMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> std::sync::Arc<Self> {
        let metrics = Self {
            rows_written: Family::default(),
            rows_dropped: Family::default(),
            write_errors: Family::default(),
            queue_rows: Family::default(),
            queue_bytes: Gauge::default(),
            flush_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            }),
            states: crate::supervise::WriterStates::default(),
        };
        registry.register(
            "tracehouse_writer_rows_written",
            "Rows written to ClickHouse, by table",
            metrics.rows_written.clone(),
        );
        registry.register(
            "tracehouse_writer_rows_dropped",
            "Rows dropped after a non-retryable error or after retrying too long, by table",
            metrics.rows_dropped.clone(),
        );
        registry.register(
            "tracehouse_writer_write_errors",
            "Failed ClickHouse insert attempts, by table and kind",
            metrics.write_errors.clone(),
        );
        registry.register(
            "tracehouse_writer_queue_rows",
            "Rows waiting in the write queue or being written, by table",
            metrics.queue_rows.clone(),
        );
        registry.register(
            "tracehouse_writer_queue_bytes",
            "Bytes held by rows waiting in the write queue or being written, every table together",
            metrics.queue_bytes.clone(),
        );
        registry.register(
            "tracehouse_writer_flush_duration_seconds",
            "Time to write one batch to ClickHouse, retries included",
            metrics.flush_seconds.clone(),
        );
        std::sync::Arc::new(metrics)
    }
}
