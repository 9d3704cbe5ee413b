//! The write side of Tracehouse: OTLP receivers and the batching writer.
//!
//! One ingest implementation per signal ([`traces::TraceIngest`],
//! [`metric_points::MetricIngest`], [`logs::LogIngest`]) sits behind two
//! transports, gRPC ([`grpc`]) and HTTP ([`http`]). Accepted rows go into a
//! bounded queue that a [`writer::BatchWriter`] drains into ClickHouse in
//! batches; when the queue is full, receivers answer with the retryable
//! status OTLP defines, so clients back off instead of the process growing.
//! This crate never depends on the query side.

pub mod access;
pub mod config;
pub mod error;
pub mod grpc;
pub mod http;
pub mod invocations;
pub mod logs;
pub mod metric_points;
pub mod metrics;
pub mod otlp;
pub mod queue;
pub mod replay;
pub mod row_bytes;
pub mod service;
pub mod supervise;
pub mod traces;
pub mod wal;
pub mod writer;

pub use config::{IngestLimits, SpanLimits, WriterConfig};
pub use error::IngestError;
pub use logs::LogIngest;
pub use metric_points::MetricIngest;
pub use metrics::{IngestMetrics, WriterMetrics};
pub use service::{ExportOutcome, OtlpService};
pub use traces::TraceIngest;
pub use writer::{BatchWriter, WriterHandle};
