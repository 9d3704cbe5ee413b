//! Replay of the write-ahead log at start: each record left from an earlier
//! run is decoded and ingested again through its signal's service, waiting
//! for queue room instead of refusing.

use crate::logs::LogIngest;
use crate::metric_points::MetricIngest;
use crate::service::{Origin, OtlpService};
use crate::traces::TraceIngest;
use crate::wal::{Hold, Record, RecordKind};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tracehouse_model::ProjectId;

/// The services records are replayed through.
pub struct ReplayTargets<'a> {
    pub traces: &'a TraceIngest,
    pub metrics: &'a MetricIngest,
    pub logs: &'a LogIngest,
}

/// Replays `records` in order. Returns how many were ingested again; a
/// record that no longer decodes or ingests is logged and kept in the log.
pub async fn replay(records: Vec<(Record, Hold)>, targets: ReplayTargets<'_>) -> usize {
    let mut replayed = 0;
    for (record, hold) in records {
        let seq = record.seq;
        match replay_one(record, hold, &targets).await {
            Ok(()) => replayed += 1,
            Err(error) => {
                tracing::error!(seq, %error, "cannot replay a write-ahead log record; it stays in the log")
            }
        }
    }
    replayed
}

/// A replay step's result: the error is a message for the log.
type StepResult = Result<(), String>;

async fn replay_one(record: Record, hold: Hold, targets: &ReplayTargets<'_>) -> StepResult {
    let project = ProjectId::new(&record.project).map_err(|error| error.to_string())?;
    let origin = Origin::Replay(hold);
    let payload = record.payload.as_slice();
    let outcome = match record.kind {
        RecordKind::Traces => {
            let request = decode::<ExportTraceServiceRequest>(payload)?;
            targets.traces.ingest(project, request, origin).await
        }
        RecordKind::Metrics => {
            let request = decode::<ExportMetricsServiceRequest>(payload)?;
            targets.metrics.ingest(project, request, origin).await
        }
        RecordKind::Logs => {
            let request = decode::<ExportLogsServiceRequest>(payload)?;
            targets.logs.ingest(project, request, origin).await
        }
    };
    outcome.map(drop).map_err(|error| error.to_string())
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|error| format!("undecodable payload: {error}"))
}
