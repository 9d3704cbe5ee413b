//! The log ingest service, shared by the gRPC and HTTP receivers: log
//! records into `logs`, AWS Lambda REPORT lines also into `platform_reports`.

use crate::config::IngestLimits;
use crate::error::IngestError;
use crate::metrics::{IngestMetrics, SignalLabels};
use crate::otlp::convert::TimeWindow;
use crate::otlp::logs::{
    convert_resource_logs, count_log_records, ConvertedLogs, REJECT_TIMESTAMP_OUT_OF_RANGE,
};
use crate::service::{queue_or_refuse, receive_and_convert, ExportOutcome, OtlpService};
use crate::writer::BatchWriter;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use std::sync::Arc;
use tracehouse_model::ProjectId;
use tracehouse_schema::serverless_rows::PlatformReportRow;
use tracehouse_schema::signal_rows::LogRow;

/// Log ingest.
#[derive(Clone)]
pub struct LogIngest {
    writer: BatchWriter<LogRow>,
    report_writer: BatchWriter<PlatformReportRow>,
    metrics: Arc<IngestMetrics>,
    limits: IngestLimits,
}

impl LogIngest {
    /// A service that queues records on `writer` and REPORT lines on `report_writer`.
    pub fn new(
        writer: BatchWriter<LogRow>,
        report_writer: BatchWriter<PlatformReportRow>,
        metrics: Arc<IngestMetrics>,
        limits: IngestLimits,
    ) -> Self {
        Self {
            writer,
            report_writer,
            metrics,
            limits,
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }
}

impl OtlpService for LogIngest {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    const SIGNAL: &'static str = "logs";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";

    async fn export(
        &self,
        project: ProjectId,
        request: ExportLogsServiceRequest,
    ) -> Result<ExportOutcome, IngestError> {
        let signal = SignalLabels {
            signal: Self::SIGNAL,
        };
        let received = count_log_records(&request.resource_logs);
        let window = TimeWindow::around_now(self.limits.max_span_age, self.limits.max_future_skew);
        let now = tracehouse_model::time::now_unix_nano();
        let converted: ConvertedLogs =
            receive_and_convert(&self.metrics, Self::SIGNAL, received, move || {
                convert_resource_logs(&project, request.resource_logs, window, now)
            })
            .await?;
        let rejected = converted.rejected_out_of_range;
        if rejected > 0 {
            self.metrics
                .reject(Self::SIGNAL, REJECT_TIMESTAMP_OUT_OF_RANGE, rejected);
        }
        let accepted = converted.logs.len() as u64;
        queue_or_refuse(
            &self.writer,
            &self.metrics,
            Self::SIGNAL,
            converted.logs,
            accepted,
        )?;
        // Reports second: a retried request may store a log line twice but
        // a report twice only if both queues accepted it the first time,
        // and reports are read per request id, so duplicates do not count.
        queue_or_refuse(
            &self.report_writer,
            &self.metrics,
            Self::SIGNAL,
            converted.reports,
            accepted,
        )?;
        self.metrics
            .accepted
            .get_or_create(&signal)
            .inc_by(accepted);
        if rejected == 0 {
            return Ok(ExportOutcome::default());
        }
        Ok(ExportOutcome {
            rejected,
            message: format!("rejected log records: {rejected} {REJECT_TIMESTAMP_OUT_OF_RANGE}"),
        })
    }

    fn response(outcome: &ExportOutcome) -> ExportLogsServiceResponse {
        ExportLogsServiceResponse {
            partial_success: (outcome.rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                error_message: outcome.message.clone(),
            }),
        }
    }

    fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }
}
