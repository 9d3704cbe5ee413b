//! AWS Lambda platform REPORT lines, the billing figures of record:
//!
//! ```text
//! REPORT RequestId: 8f5e...  Duration: 102.25 ms  Billed Duration: 103 ms  Memory Size: 128 MB  Max Memory Used: 70 MB  Init Duration: 250.12 ms
//! ```
//!
//! Fields are separated by tabs on Lambda; any whitespace is accepted here,
//! and fields may come in any order. Unknown fields (such as the X-Ray
//! fields `XRAY TraceId`) are ignored.

/// The figures of one REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformReport {
    pub request_id: String,
    pub duration_ms: f64,
    /// Whole milliseconds billed, as Lambda computed them.
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    /// Present on cold starts only.
    pub init_duration_ms: Option<f64>,
}

const FIELDS: [&str; 6] = [
    "RequestId:",
    "Duration:",
    "Billed Duration:",
    "Memory Size:",
    "Max Memory Used:",
    "Init Duration:",
];

impl PlatformReport {
    /// Parses a REPORT line; `None` for any other text, or a REPORT line
    /// without a request id or billed duration.
    pub fn parse(line: &str) -> Option<Self> {
        let rest = line.trim_start().strip_prefix("REPORT")?;
        let request_id = field_text(rest, "RequestId:")?
            .split_whitespace()
            .next()?
            .to_owned();
        let billed = field_number(rest, "Billed Duration:")?;
        Some(Self {
            request_id,
            duration_ms: field_number(rest, "Duration:").unwrap_or(0.0),
            billed_duration_ms: billed.max(0.0).ceil() as u64,
            memory_size_mb: field_number(rest, "Memory Size:").map_or(0, |mb| mb.max(0.0) as u32),
            max_memory_used_mb: field_number(rest, "Max Memory Used:")
                .map_or(0, |mb| mb.max(0.0) as u32),
            init_duration_ms: field_number(rest, "Init Duration:"),
        })
    }
}

/// The text after `name` up to the next known field name.
fn field_text<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = find_field(line, name)? + name.len();
    let tail = &line[start..];
    let end = FIELDS
        .iter()
        .filter_map(|other| find_field(tail, other))
        .min()
        .unwrap_or(tail.len());
    Some(tail[..end].trim())
}

/// Finds `name` as a whole field: `Duration:` must not match inside
/// `Billed Duration:` or `Init Duration:`.
fn find_field(line: &str, name: &str) -> Option<usize> {
    let mut search_from = 0;
    while let Some(found) = line[search_from..].find(name) {
        let position = search_from + found;
        let before = line[..position].trim_end();
        let inside_longer_name = before.ends_with("Billed") || before.ends_with("Init");
        if !inside_longer_name {
            return Some(position);
        }
        search_from = position + name.len();
    }
    None
}

/// The number of a field such as `Duration: 102.25 ms`.
fn field_number(line: &str, name: &str) -> Option<f64> {
    field_text(line, name)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_cold_report_line() {
        let line = "REPORT RequestId: 3f8a1c2e-0000-4bbb-9ccc-1234567890ab\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 250.12 ms\t\n";
        let report = PlatformReport::parse(line).expect("a report line");
        assert_eq!(report.request_id, "3f8a1c2e-0000-4bbb-9ccc-1234567890ab");
        assert_eq!(report.duration_ms, 102.25);
        assert_eq!(report.billed_duration_ms, 103);
        assert_eq!(report.memory_size_mb, 128);
        assert_eq!(report.max_memory_used_mb, 70);
        assert_eq!(report.init_duration_ms, Some(250.12));
    }

    #[test]
    fn parses_warm_lines_in_any_order_and_ignores_other_text() {
        let line = "REPORT RequestId: abc Billed Duration: 2 ms Duration: 1.50 ms Max Memory Used: 60 MB Memory Size: 1024 MB XRAY TraceId: 1-2-3";
        let report = PlatformReport::parse(line).expect("a report line");
        assert_eq!(report.request_id, "abc");
        assert_eq!(report.duration_ms, 1.5);
        assert_eq!(report.billed_duration_ms, 2);
        assert_eq!(report.memory_size_mb, 1024);
        assert_eq!(report.init_duration_ms, None);
        assert!(PlatformReport::parse("START RequestId: abc Version: $LATEST").is_none());
        assert!(PlatformReport::parse("REPORT without fields").is_none());
    }
}
