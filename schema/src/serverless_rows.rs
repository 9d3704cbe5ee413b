//! Rows of the serverless tables: `invocations` and `platform_reports`.
//! Field order is column order: rows travel as `RowBinary`.

use serde::{Deserialize, Serialize};
use tracehouse_model::{Invocation, PlatformReport, ProjectId};

/// A row of `invocations`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct InvocationRow {
    pub project: String,
    /// Start in whole seconds (partition and sort column).
    pub timestamp: u32,
    pub start_time_unix_nano: u64,
    pub duration_ns: u64,
    pub function: String,
    pub service: String,
    pub provider: String,
    pub region: String,
    pub function_version: String,
    pub instance: String,
    pub trigger: String,
    pub invocation_id: String,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub is_error: u8,
    /// 1 true, 0 false, -1 absent.
    pub coldstart_attribute: i8,
    /// 0 when unknown.
    pub memory_mb: u32,
    /// Empty when unknown.
    pub arch: String,
}

impl InvocationRow {
    /// The row for `invocation` in `project`.
    pub fn from_invocation(project: &ProjectId, invocation: &Invocation) -> Self {
        Self {
            project: project.as_str().to_owned(),
            timestamp: unix_seconds(invocation.start_time_unix_nano),
            start_time_unix_nano: invocation.start_time_unix_nano,
            duration_ns: invocation.duration_ns,
            function: invocation.function.clone(),
            service: invocation.service.clone(),
            provider: invocation.provider.clone(),
            region: invocation.region.clone(),
            function_version: invocation.function_version.clone(),
            instance: invocation.instance.clone(),
            trigger: invocation.trigger.clone(),
            invocation_id: invocation.invocation_id.clone(),
            trace_id: *invocation.trace_id.as_bytes(),
            span_id: *invocation.span_id.as_bytes(),
            is_error: u8::from(invocation.is_error),
            coldstart_attribute: invocation.coldstart_attribute.map_or(-1, i8::from),
            memory_mb: invocation.memory_mb.unwrap_or(0),
            arch: invocation.arch.clone().unwrap_or_default(),
        }
    }
}

/// A row of `platform_reports`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct PlatformReportRow {
    pub project: String,
    pub timestamp: u32,
    pub time_unix_nano: u64,
    pub request_id: String,
    pub function: String,
    pub service: String,
    pub duration_ms: f64,
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    /// 0 unless `has_init_duration`.
    pub init_duration_ms: f64,
    pub has_init_duration: u8,
    /// 0 unless `has_restore_duration` (SnapStart restores).
    pub restore_duration_ms: f64,
    pub has_restore_duration: u8,
    pub billed_restore_duration_ms: u64,
    /// `success`, `failure`, `error` or `timeout`.
    pub status: String,
    pub error_type: String,
    /// 1 when the platform reports the invocation as failed.
    pub failed: u8,
}

impl PlatformReportRow {
    /// The row for a report logged at `time_unix_nano` by `function`.
    pub fn from_report(
        project: &ProjectId,
        report: &PlatformReport,
        time_unix_nano: u64,
        function: &str,
        service: &str,
    ) -> Self {
        Self {
            project: project.as_str().to_owned(),
            timestamp: unix_seconds(time_unix_nano),
            time_unix_nano,
            request_id: report.request_id.clone(),
            function: function.to_owned(),
            service: service.to_owned(),
            duration_ms: report.duration_ms,
            billed_duration_ms: report.billed_duration_ms,
            memory_size_mb: report.memory_size_mb,
            max_memory_used_mb: report.max_memory_used_mb,
            init_duration_ms: report.init_duration_ms.unwrap_or(0.0),
            has_init_duration: u8::from(report.init_duration_ms.is_some()),
            restore_duration_ms: report.restore_duration_ms.unwrap_or(0.0),
            has_restore_duration: u8::from(report.restore_duration_ms.is_some()),
            billed_restore_duration_ms: report.billed_restore_duration_ms.unwrap_or(0),
            status: report.status.as_str().to_owned(),
            error_type: report.error_type.clone(),
            failed: u8::from(report.status.is_failure()),
        }
    }
}

/// Whole seconds of a Unix nanosecond time, saturating.
pub fn unix_seconds(unix_nano: u64) -> u32 {
    u32::try_from(unix_nano / 1_000_000_000).unwrap_or(u32::MAX)
}
