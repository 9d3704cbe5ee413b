//! Prometheus metrics of the write-ahead log.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Labels of refused appends.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `full` or `io`.
    pub reason: &'static str,
}

/// Counters and gauges of the log.
#[derive(Debug, Default)]
pub struct WalMetrics {
    /// Records appended.
    pub appended: Counter,
    /// Bytes appended.
    pub appended_bytes: Counter,
    /// fsync calls (each covers a group of appends).
    pub fsyncs: Counter,
    /// Appends refused, by reason.
    pub refused: Family<RefusalLabels, Counter>,
    /// Bytes in the log's segment files.
    pub bytes: Gauge,
    /// Segments found damaged when the log was opened.
    pub damaged_segments: Counter,
    /// Records read back at start for replay.
    pub replayed: Counter,
}

impl WalMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Arc<Self> {
        let metrics = Self::default();
        let counters = [
            (
                "tracehouse_wal_appended_records",
                "Requests appended to the write-ahead log",
                &metrics.appended,
            ),
            (
                "tracehouse_wal_appended_bytes",
                "Bytes appended to the write-ahead log",
                &metrics.appended_bytes,
            ),
            (
                "tracehouse_wal_fsyncs",
                "fsync calls of the write-ahead log, each for a group of appends",
                &metrics.fsyncs,
            ),
            (
                "tracehouse_wal_damaged_segments",
                "Write-ahead log segments with a torn or corrupt tail, found at start",
                &metrics.damaged_segments,
            ),
            (
                "tracehouse_wal_replayed_records",
                "Requests read back from the write-ahead log at start and ingested again",
                &metrics.replayed,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "tracehouse_wal_refused_appends",
            "Requests the write-ahead log refused, by reason (full or io); clients were told to retry",
            metrics.refused.clone(),
        );
        registry.register(
            "tracehouse_wal_bytes",
            "Bytes in the write-ahead log's segment files",
            metrics.bytes.clone(),
        );
        Arc::new(metrics)
    }

    /// Counts one refused append.
    pub fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&RefusalLabels { reason }).inc();
    }
}
