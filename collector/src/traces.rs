//! The trace ingest service, shared by the gRPC and HTTP receivers. Besides
//! the spans, it writes one invocation record per entry span of a function
//! execution (see [`crate::invocations`]).

use crate::config::{IngestLimits, SpanLimits};
use crate::error::IngestError;
use crate::invocations::invocations_from_spans;
use crate::metrics::{IngestMetrics, SignalLabels};
use crate::otlp::convert::{convert_resource_spans, count_spans, ConvertedSpans, TimeWindow};
use crate::row_bytes::rows_bytes;
use crate::service::{
    charge_or_refuse, log_request, receive_and_convert, request_queued, reserve_or_refuse,
    send_reserved, ExportOutcome, Origin, OtlpService, ReserveFor, ToLog,
};
use crate::wal::{RecordKind, Wal};
use crate::writer::BatchWriter;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::Arc;
use tracehouse_model::ProjectId;
use tracehouse_schema::rows::{SpanRow, SpanRowEncoder};
use tracehouse_schema::serverless_rows::InvocationRow;

/// Trace ingest: OTLP spans into the `spans` table, invocation records
/// into `invocations`.
#[derive(Clone)]
pub struct TraceIngest {
    writer: BatchWriter<SpanRow>,
    invocation_writer: BatchWriter<InvocationRow>,
    metrics: Arc<IngestMetrics>,
    limits: IngestLimits,
    wal: Option<Wal>,
}

impl TraceIngest {
    /// A service that queues spans on `writer` and invocation records on
    /// `invocation_writer`.
    pub fn new(
        writer: BatchWriter<SpanRow>,
        invocation_writer: BatchWriter<InvocationRow>,
        metrics: Arc<IngestMetrics>,
        limits: IngestLimits,
    ) -> Self {
        Self {
            writer,
            invocation_writer,
            metrics,
            limits,
            wal: None,
        }
    }

    /// The same service, logging each request to `wal` before accepting it.
    pub fn with_wal(mut self, wal: Wal) -> Self {
        self.wal = Some(wal);
        self
    }

    /// The configured limits (the transports enforce the size limit).
    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }
}

/// Rows of one request: its spans and the invocations they start, and the
/// request as protobuf for the write-ahead log.
struct TraceRows {
    spans: Vec<SpanRow>,
    invocations: Vec<InvocationRow>,
    payload: Option<Vec<u8>>,
}

fn convert_to_rows(
    project: &ProjectId,
    request: ExportTraceServiceRequest,
    (window, limits): (TimeWindow, SpanLimits),
    log: ToLog,
) -> (ConvertedSpans, TraceRows) {
    let payload = log.payload(&request);
    let mut converted = convert_resource_spans(request.resource_spans, window, &limits);
    let mut encoder = SpanRowEncoder::new(project);
    let spans = converted
        .spans
        .iter()
        .map(|span| encoder.row(span))
        .collect();
    let invocations = invocations_from_spans(&converted.spans)
        .iter()
        .map(|invocation| InvocationRow::from_invocation(project, invocation))
        .collect();
    converted.spans.clear();
    (
        converted,
        TraceRows {
            spans,
            invocations,
            payload,
        },
    )
}

impl OtlpService for TraceIngest {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    const SIGNAL: &'static str = "traces";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";

    async fn ingest(
        &self,
        project: ProjectId,
        request: ExportTraceServiceRequest,
        origin: Origin,
    ) -> Result<ExportOutcome, IngestError> {
        let received = count_spans(&request.resource_spans);
        let window = TimeWindow::around_now(self.limits.max_span_age, self.limits.max_future_skew);
        let log = origin.to_log(self.wal.is_some());
        let converting_for = project.clone();
        let limits = self.limits.spans;
        let (converted, rows) =
            receive_and_convert(&self.metrics, Self::SIGNAL, received, move || {
                convert_to_rows(&converting_for, request, (window, limits), log)
            })
            .await?;
        for (reason, count) in &converted.rejected {
            self.metrics.reject(Self::SIGNAL, reason.as_str(), *count);
        }
        for (limit, count) in &converted.truncated.0 {
            self.metrics.truncate(Self::SIGNAL, limit.as_str(), *count);
        }
        let accepted = rows.spans.len() as u64;
        let (signal, metrics) = (Self::SIGNAL, &*self.metrics);
        // Room on both queues first, so that a logged request is never refused.
        let what = ReserveFor {
            signal,
            project: &project,
            counted: accepted,
        };
        let invocation_bytes = rows_bytes(&rows.invocations);
        let bytes = rows_bytes(&rows.spans) + invocation_bytes;
        let mut charge =
            charge_or_refuse(self.writer.queue(), metrics, &what, bytes, &origin).await?;
        let invocations_charge = charge.split_off(invocation_bytes);
        let spans_room = reserve_or_refuse(
            &self.writer,
            metrics,
            &what,
            rows.spans.len(),
            (charge, &origin),
        )
        .await?;
        let invocations_room = reserve_or_refuse(
            &self.invocation_writer,
            metrics,
            &what,
            rows.invocations.len(),
            (invocations_charge, &origin),
        )
        .await?;
        let record = (RecordKind::Traces, &project, rows.payload);
        let hold =
            log_request(self.wal.as_ref(), origin, record, metrics, signal, accepted).await?;
        send_reserved(spans_room, rows.spans, hold.as_ref())?;
        send_reserved(invocations_room, rows.invocations, hold.as_ref())?;
        request_queued(hold);
        self.metrics
            .accepted
            .get_or_create(&SignalLabels { signal })
            .inc_by(accepted);
        Ok(partial_outcome(&converted))
    }

    fn response(outcome: &ExportOutcome) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            // OTLP lets a warning travel with nothing rejected.
            partial_success: (outcome.rejected > 0 || !outcome.message.is_empty()).then(|| {
                ExportTracePartialSuccess {
                    rejected_spans: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                    error_message: outcome.message.clone(),
                }
            }),
        }
    }

    fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }
}

fn partial_outcome(converted: &ConvertedSpans) -> ExportOutcome {
    let rejected = converted
        .rejected
        .iter()
        .map(|(reason, count)| format!("{count} {}", reason.as_str()));
    let truncated = converted
        .truncated
        .0
        .iter()
        .map(|(limit, count)| format!("{count} over {}", limit.as_str()));
    let parts: Vec<String> = [
        ("rejected spans", rejected.collect::<Vec<_>>()),
        ("truncated by limits", truncated.collect()),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .map(|(title, items)| format!("{title}: {}", items.join(", ")))
    .collect();
    ExportOutcome {
        rejected: converted.rejected_count(),
        message: parts.join("; "),
    }
}
