//! The log ingest service, shared by the gRPC and HTTP receivers: log
//! records into `logs`, AWS Lambda REPORT lines also into `platform_reports`.

use crate::config::IngestLimits;
use crate::error::IngestError;
use crate::metrics::{IngestMetrics, SignalLabels};
use crate::otlp::convert::TimeWindow;
use crate::otlp::logs::{
    convert_resource_logs, count_log_records, ConvertedLogs, REJECT_TIMESTAMP_OUT_OF_RANGE,
};
use crate::row_bytes::rows_bytes;
use crate::service::{
    charge_or_refuse, log_request, receive_and_convert, request_queued, reserve_or_refuse,
    send_reserved, ExportOutcome, Origin, OtlpService, ReserveFor,
};
use crate::wal::{RecordKind, Wal};
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
    wal: Option<Wal>,
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

impl OtlpService for LogIngest {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    const SIGNAL: &'static str = "logs";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";

    async fn ingest(
        &self,
        project: ProjectId,
        request: ExportLogsServiceRequest,
        origin: Origin,
    ) -> Result<ExportOutcome, IngestError> {
        let signal = SignalLabels {
            signal: Self::SIGNAL,
        };
        let received = count_log_records(&request.resource_logs);
        let window = TimeWindow::around_now(self.limits.max_span_age, self.limits.max_future_skew);
        let now = tracehouse_model::time::now_unix_nano();
        let log = origin.to_log(self.wal.is_some());
        let converting_for = project.clone();
        let (converted, payload): (ConvertedLogs, _) =
            receive_and_convert(&self.metrics, Self::SIGNAL, received, move || {
                let payload = log.payload(&request);
                let converted =
                    convert_resource_logs(&converting_for, request.resource_logs, window, now);
                (converted, payload)
            })
            .await?;
        let rejected = converted.rejected_out_of_range;
        if rejected > 0 {
            self.metrics
                .reject(Self::SIGNAL, REJECT_TIMESTAMP_OUT_OF_RANGE, rejected);
        }
        let accepted = converted.logs.len() as u64;
        let (signal_name, metrics) = (Self::SIGNAL, &*self.metrics);
        // Room on both queues first, so that a logged request is never refused.
        let what = ReserveFor {
            signal: signal_name,
            project: &project,
            counted: accepted,
        };
        let report_bytes = rows_bytes(&converted.reports);
        let bytes = rows_bytes(&converted.logs) + report_bytes;
        let mut charge =
            charge_or_refuse(self.writer.queue(), metrics, &what, bytes, &origin).await?;
        let reports_charge = charge.split_off(report_bytes);
        let logs_room = reserve_or_refuse(
            &self.writer,
            metrics,
            &what,
            converted.logs.len(),
            (charge, &origin),
        )
        .await?;
        let reports_room = reserve_or_refuse(
            &self.report_writer,
            metrics,
            &what,
            converted.reports.len(),
            (reports_charge, &origin),
        )
        .await?;
        let record = (RecordKind::Logs, &project, payload);
        let hold = log_request(
            self.wal.as_ref(),
            origin,
            record,
            metrics,
            signal_name,
            accepted,
        )
        .await?;
        send_reserved(logs_room, converted.logs, hold.as_ref())?;
        send_reserved(reports_room, converted.reports, hold.as_ref())?;
        request_queued(hold);
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
