//! The metrics ingest service, shared by the gRPC and HTTP receivers: data
//! points of every type into `metric_points`.

use crate::config::IngestLimits;
use crate::error::IngestError;
use crate::metrics::{IngestMetrics, SignalLabels};
use crate::otlp::convert::TimeWindow;
use crate::otlp::metrics::{convert_resource_metrics, count_data_points, ConvertedMetrics};
use crate::row_bytes::rows_bytes;
use crate::service::{
    charge_or_refuse, log_request, receive_and_convert, request_queued, reserve_or_refuse,
    send_reserved, ExportOutcome, Origin, OtlpService, ReserveFor,
};
use crate::wal::{RecordKind, Wal};
use crate::writer::BatchWriter;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use std::sync::Arc;
use tracehouse_model::ProjectId;
use tracehouse_schema::signal_rows::MetricPointRow;

/// Metrics ingest.
#[derive(Clone)]
pub struct MetricIngest {
    writer: BatchWriter<MetricPointRow>,
    metrics: Arc<IngestMetrics>,
    limits: IngestLimits,
    wal: Option<Wal>,
}

impl MetricIngest {
    /// A service that queues data points on `writer`.
    pub fn new(
        writer: BatchWriter<MetricPointRow>,
        metrics: Arc<IngestMetrics>,
        limits: IngestLimits,
    ) -> Self {
        Self {
            writer,
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

    /// The configured limits.
    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }
}

impl OtlpService for MetricIngest {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    const SIGNAL: &'static str = "metrics";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";

    async fn ingest(
        &self,
        project: ProjectId,
        request: ExportMetricsServiceRequest,
        origin: Origin,
    ) -> Result<ExportOutcome, IngestError> {
        let signal = SignalLabels {
            signal: Self::SIGNAL,
        };
        let received = count_data_points(&request.resource_metrics);
        let window = TimeWindow::around_now(self.limits.max_span_age, self.limits.max_future_skew);
        let log = origin.to_log(self.wal.is_some());
        let converting_for = project.clone();
        let (converted, payload): (ConvertedMetrics, _) =
            receive_and_convert(&self.metrics, Self::SIGNAL, received, move || {
                let payload = log.payload(&request);
                let converted =
                    convert_resource_metrics(&converting_for, request.resource_metrics, window);
                (converted, payload)
            })
            .await?;
        let mut reasons = Vec::new();
        for (reason, count) in [
            ("timestamp_out_of_range", converted.rejected_out_of_range),
            ("metric_without_data", converted.rejected_without_data),
            ("malformed_data_point", converted.rejected_malformed),
        ] {
            if count > 0 {
                self.metrics.reject(Self::SIGNAL, reason, count);
                reasons.push(format!("{count} {reason}"));
            }
        }
        let accepted = converted.points.len() as u64;
        let (signal_name, metrics) = (Self::SIGNAL, &*self.metrics);
        let what = ReserveFor {
            signal: signal_name,
            project: &project,
            counted: accepted,
        };
        let bytes = rows_bytes(&converted.points);
        let charge = charge_or_refuse(self.writer.queue(), metrics, &what, bytes, &origin).await?;
        let room = reserve_or_refuse(
            &self.writer,
            metrics,
            &what,
            converted.points.len(),
            (charge, &origin),
        )
        .await?;
        let record = (RecordKind::Metrics, &project, payload);
        let hold = log_request(
            self.wal.as_ref(),
            origin,
            record,
            metrics,
            signal_name,
            accepted,
        )
        .await?;
        send_reserved(room, converted.points, hold.as_ref())?;
        request_queued(hold);
        self.metrics
            .accepted
            .get_or_create(&signal)
            .inc_by(accepted);
        let rejected = converted.rejected_out_of_range
            + converted.rejected_without_data
            + converted.rejected_malformed;
        if rejected == 0 {
            return Ok(ExportOutcome::default());
        }
        Ok(ExportOutcome {
            rejected,
            message: format!("rejected data points: {}", reasons.join(", ")),
        })
    }

    fn response(outcome: &ExportOutcome) -> ExportMetricsServiceResponse {
        ExportMetricsServiceResponse {
            partial_success: (outcome.rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                error_message: outcome.message.clone(),
            }),
        }
    }

    fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }
}
