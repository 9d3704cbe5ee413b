//! Query templates. Each file's second line lists sample parameters
//! (`-- params: ...`) so that the dialect check can run it on any ClickHouse.

/// Spans of one trace, by project and trace id (hex).
pub const TRACE_SPANS_BY_TRACE_ID: &str = include_str!("../sql/trace_spans_by_trace_id.sql");

/// Per-function invocation statistics over a window.
pub const FUNCTION_STATS: &str = include_str!("../sql/function_stats.sql");
/// One function's statistics per time bucket.
pub const FUNCTION_TIMESERIES: &str = include_str!("../sql/function_timeseries.sql");
/// Billing units per function, bucket and pricing traits.
pub const FUNCTION_COST_GROUPS: &str = include_str!("../sql/function_cost_groups.sql");
/// One function's cold-start invocations.
pub const COLDSTART_INVOCATIONS: &str = include_str!("../sql/coldstart_invocations.sql");
/// One function's duration histogram, cold vs warm.
pub const DURATION_HISTOGRAM: &str = include_str!("../sql/duration_histogram.sql");
/// FaaS metric points in a window.
pub const FAAS_METRIC_POINTS: &str = include_str!("../sql/faas_metric_points.sql");

/// Every template with its file name, for dialect checks.
pub const ALL: &[(&str, &str)] = &[
    ("trace_spans_by_trace_id.sql", TRACE_SPANS_BY_TRACE_ID),
    ("function_stats.sql", FUNCTION_STATS),
    ("function_timeseries.sql", FUNCTION_TIMESERIES),
    ("function_cost_groups.sql", FUNCTION_COST_GROUPS),
    ("coldstart_invocations.sql", COLDSTART_INVOCATIONS),
    ("duration_histogram.sql", DURATION_HISTOGRAM),
    ("faas_metric_points.sql", FAAS_METRIC_POINTS),
];

#[cfg(test)]
mod tests {
    /// Every file in `query/sql` is registered, so the dialect checks see it.
    #[test]
    fn every_template_file_is_listed() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut files: Vec<String> = std::fs::read_dir(directory)
            .expect("query/sql exists")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let mut listed: Vec<String> = super::ALL
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        listed.sort();
        assert_eq!(files, listed);
        for (name, template) in super::ALL {
            assert!(
                template.contains("-- params:"),
                "{name} lacks a -- params: line"
            );
        }
    }
}
