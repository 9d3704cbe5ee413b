//! Query templates. Each file's second line lists sample parameters
//! (`-- params: ...`) so that the dialect check can run it on any ClickHouse.

/// Spans of one trace, by project and trace id (hex).
pub const TRACE_SPANS_BY_TRACE_ID: &str = include_str!("../sql/trace_spans_by_trace_id.sql");

/// Every template with its file name, for dialect checks.
pub const ALL: &[(&str, &str)] = &[("trace_spans_by_trace_id.sql", TRACE_SPANS_BY_TRACE_ID)];
