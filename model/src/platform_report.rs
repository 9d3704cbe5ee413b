//! AWS Lambda platform reports, the billing figures of record, in the two
//! shapes Lambda writes them.
//!
//! The plain-text `REPORT` line:
//!
//! ```text
//! REPORT RequestId: 8f5e...  Duration: 102.25 ms  Billed Duration: 103 ms  Memory Size: 128 MB  Max Memory Used: 70 MB  Init Duration: 250.12 ms
//! ```
//!
//! Fields are separated by tabs on Lambda; any whitespace is accepted here,
//! and fields may come in any order. SnapStart restores add `Restore
//! Duration` and `Billed Restore Duration` (and have no `Init Duration`);
//! failed invocations add `Status` (`error`, `timeout`) and `Error Type`.
//! Unknown fields (such as the X-Ray fields `XRAY TraceId`) are ignored.
//!
//! The JSON `platform.report` event, written by the JSON log format and
//! delivered to extensions by the Telemetry API:
//!
//! ```text
//! {"time": "...", "type": "platform.report",
//!  "record": {"requestId": "...", "status": "success",
//!             "metrics": {"durationMs": 693.92, "billedDurationMs": 694, "memorySizeMB": 128,
//!                         "maxMemoryUsedMB": 84, "initDurationMs": 397.68}}}
//! ```

use serde::{Deserialize, Serialize};

/// How an invocation ended, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// No status field, or `success`.
    #[default]
    Success,
    /// `failure`, and any status this parser does not know.
    Failure,
    Error,
    Timeout,
}

impl ReportStatus {
    /// The status named `text` (`success`, `error`, `timeout`, ...).
    /// Lambda writes a status only when it is not a success, so an unknown
    /// name counts as a failure rather than being dropped.
    pub fn from_name(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "success" => Self::Success,
            "error" => Self::Error,
            "timeout" => Self::Timeout,
            _ => Self::Failure,
        }
    }

    /// The lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }

    /// Whether the platform says the invocation failed.
    pub fn is_failure(self) -> bool {
        self != Self::Success
    }
}

/// The figures of one platform report.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformReport {
    pub request_id: String,
    pub duration_ms: f64,
    /// Whole milliseconds billed, as Lambda computed them (for SnapStart
    /// restores this already includes the billed restore duration).
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    /// Present on on-demand cold starts only.
    pub init_duration_ms: Option<f64>,
    /// Present on SnapStart restores only: snapshot restore, runtime load
    /// and after-restore hooks.
    pub restore_duration_ms: Option<f64>,
    /// The part of the restore that is billed (runtime load and hooks).
    pub billed_restore_duration_ms: Option<u64>,
    pub status: ReportStatus,
    /// `Error Type` / `errorType`, empty when none.
    pub error_type: String,
}

impl PlatformReport {
    /// Parses a REPORT line or a JSON `platform.report` event; `None` for
    /// any other text, or a report without a request id or billed duration.
    pub fn parse(body: &str) -> Option<Self> {
        let body = body.trim_start();
        if body.starts_with('{') {
            return parse_json_event(body);
        }
        parse_report_line(body)
    }

    /// Whether this report marks a cold start: an init or a restore ran
    /// before the invocation.
    pub fn is_cold_start(&self) -> bool {
        self.init_duration_ms.is_some() || self.restore_duration_ms.is_some()
    }
}

const FIELDS: [&str; 10] = [
    "RequestId:",
    "Duration:",
    "Billed Duration:",
    "Memory Size:",
    "Max Memory Used:",
    "Init Duration:",
    "Restore Duration:",
    "Billed Restore Duration:",
    "Status:",
    "Error Type:",
];

fn parse_report_line(line: &str) -> Option<PlatformReport> {
    let rest = line.strip_prefix("REPORT")?;
    let request_id = first_word(rest, "RequestId:")?.to_owned();
    let billed = field_number(rest, "Billed Duration:")?;
    Some(PlatformReport {
        request_id,
        duration_ms: field_number(rest, "Duration:").unwrap_or(0.0),
        billed_duration_ms: whole_ms(billed),
        memory_size_mb: field_number(rest, "Memory Size:").map_or(0, whole_mb),
        max_memory_used_mb: field_number(rest, "Max Memory Used:").map_or(0, whole_mb),
        init_duration_ms: field_number(rest, "Init Duration:"),
        restore_duration_ms: field_number(rest, "Restore Duration:"),
        billed_restore_duration_ms: field_number(rest, "Billed Restore Duration:").map(whole_ms),
        status: first_word(rest, "Status:").map_or(ReportStatus::Success, ReportStatus::from_name),
        error_type: first_word(rest, "Error Type:").unwrap_or("").to_owned(),
    })
}

/// The text after `name` up to the next known field name.
fn field_text<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = find_field(line, name)? + name.len();
    let tail = line.get(start..)?;
    let end = FIELDS
        .iter()
        .filter_map(|other| find_field(tail, other))
        .min()
        .unwrap_or(tail.len());
    Some(tail.get(..end)?.trim())
}

/// Finds `name` as a whole field: `Duration:` must not match inside
/// `Billed Duration:`, `Init Duration:` or `Restore Duration:`, nor
/// `Restore Duration:` inside `Billed Restore Duration:`.
fn find_field(line: &str, name: &str) -> Option<usize> {
    let mut search_from = 0;
    while let Some(found) = line.get(search_from..)?.find(name) {
        let position = search_from + found;
        let inside_longer_name = FIELDS
            .iter()
            .filter(|longer| longer.len() > name.len() && longer.ends_with(name))
            .any(|longer| {
                position
                    .checked_sub(longer.len() - name.len())
                    .and_then(|start| line.get(start..))
                    .is_some_and(|text| text.starts_with(longer))
            });
        if !inside_longer_name {
            return Some(position);
        }
        search_from = position + name.len();
    }
    None
}

/// The first word of a field, such as the id of `RequestId: abc`.
fn first_word<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    field_text(line, name)?.split_whitespace().next()
}

/// The number of a field such as `Duration: 102.25 ms`.
fn field_number(line: &str, name: &str) -> Option<f64> {
    first_word(line, name)?
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
}

fn whole_ms(ms: f64) -> u64 {
    ms.max(0.0).ceil() as u64
}

fn whole_mb(mb: f64) -> u32 {
    mb.max(0.0) as u32
}

/// `{"type": "platform.report", "record": {...}}`.
#[derive(Deserialize)]
struct JsonEvent {
    #[serde(rename = "type")]
    event_type: String,
    record: JsonRecord,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRecord {
    request_id: String,
    metrics: JsonMetrics,
    #[serde(default)]
    status: String,
    #[serde(default)]
    error_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMetrics {
    #[serde(default)]
    duration_ms: f64,
    billed_duration_ms: f64,
    #[serde(default, rename = "memorySizeMB")]
    memory_size_mb: f64,
    #[serde(default, rename = "maxMemoryUsedMB")]
    max_memory_used_mb: f64,
    init_duration_ms: Option<f64>,
    restore_duration_ms: Option<f64>,
    billed_restore_duration_ms: Option<f64>,
}

fn parse_json_event(text: &str) -> Option<PlatformReport> {
    if !text.contains("platform.report") {
        return None;
    }
    let event: JsonEvent = serde_json::from_str(text).ok()?;
    let record = event.record;
    if event.event_type != "platform.report" || record.request_id.is_empty() {
        return None;
    }
    let metrics = record.metrics;
    Some(PlatformReport {
        request_id: record.request_id,
        duration_ms: metrics.duration_ms,
        billed_duration_ms: whole_ms(metrics.billed_duration_ms),
        memory_size_mb: whole_mb(metrics.memory_size_mb),
        max_memory_used_mb: whole_mb(metrics.max_memory_used_mb),
        init_duration_ms: metrics.init_duration_ms,
        restore_duration_ms: metrics.restore_duration_ms,
        billed_restore_duration_ms: metrics.billed_restore_duration_ms.map(whole_ms),
        status: ReportStatus::from_name(&record.status),
        error_type: record.error_type,
    })
}

pub mod aws_examples;

#[cfg(test)]
mod tests;
