//! What every OTLP signal's ingest service provides to the transports.

use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use tracehouse_model::ProjectId;

/// What happened to an export request that was accepted, possibly in part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Items refused; zero for full success.
    pub rejected: u64,
    /// Why they were refused; empty for full success.
    pub message: String,
}

/// The signal-independent side of an OTLP receiver: decode is done by the
/// transport, this does validation, conversion and queueing.
pub trait OtlpService: Clone + Send + Sync + 'static {
    /// The export request message.
    type Request: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static;
    /// The export response message.
    type Response: prost::Message + Default + serde::Serialize + Send + 'static;
    /// `traces`, `metrics` or `logs`: the metric label and the URL path end.
    const SIGNAL: &'static str;
    /// Full gRPC service name, e.g. `opentelemetry.proto.collector.trace.v1.TraceService`.
    const GRPC_SERVICE: &'static str;

    /// Validates, converts and queues one request for `project`.
    fn export(
        &self,
        project: ProjectId,
        request: Self::Request,
    ) -> impl std::future::Future<Output = Result<ExportOutcome, IngestError>> + Send;

    /// The OTLP response for an outcome.
    fn response(outcome: &ExportOutcome) -> Self::Response;

    /// Counters shared by all signals.
    fn metrics(&self) -> &IngestMetrics;
}

/// The outcome label of a request over the size limit.
pub const OUTCOME_TOO_LARGE: &str = "too_large";

/// The request outcome label for metrics.
pub fn outcome_label(result: Result<&ExportOutcome, &IngestError>) -> &'static str {
    match result {
        Ok(outcome) if outcome.rejected == 0 => "ok",
        Ok(_) => "partial",
        Err(
            IngestError::InvalidPayload(_)
            | IngestError::UnsupportedMediaType(_)
            | IngestError::UnsupportedEncoding(_),
        ) => "invalid",
        Err(IngestError::PayloadTooLarge { .. }) => OUTCOME_TOO_LARGE,
        Err(IngestError::Saturated | IngestError::ShuttingDown) => "saturated",
        Err(IngestError::Internal(_)) => "error",
    }
}

/// Requests with more items than this are converted on the blocking pool,
/// so that a big request does not stall the async workers.
pub const CONVERT_OFF_RUNTIME_ITEMS: u64 = 2_000;

/// Counts `received` items of `signal`, then runs `convert`: inline for
/// small requests, on the blocking pool for large ones.
pub async fn receive_and_convert<T: Send + 'static>(
    metrics: &IngestMetrics,
    signal: &'static str,
    received: u64,
    convert: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IngestError> {
    metrics
        .received
        .get_or_create(&crate::metrics::SignalLabels { signal })
        .inc_by(received);
    if received <= CONVERT_OFF_RUNTIME_ITEMS {
        return Ok(convert());
    }
    tokio::task::spawn_blocking(convert)
        .await
        .map_err(|error| IngestError::Internal(format!("{signal} conversion task failed: {error}")))
}

/// Queues `rows` on `writer`, or counts `counted` items of `signal` as
/// refused for a full queue and answers "retry later".
pub fn queue_or_refuse<R>(
    writer: &crate::writer::BatchWriter<R>,
    metrics: &IngestMetrics,
    signal: &'static str,
    rows: Vec<R>,
    counted: u64,
) -> Result<(), IngestError>
where
    R: clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync + 'static,
{
    writer.try_submit(rows).map_err(|_queue_full| {
        metrics.reject(signal, "queue_full", counted);
        IngestError::Saturated
    })
}
