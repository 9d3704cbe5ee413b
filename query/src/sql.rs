//! Query templates. Each file's second line lists sample parameters
//! (`-- params: ...`) so that the dialect check can run it on any ClickHouse.
//!
//! A template may name a fragment from `sql/fragments/` as `{name}`; it is
//! inlined once, at first use, so a subquery several templates share is
//! written once. The dialect checks expand fragments the same way.

use std::sync::LazyLock;

/// `sql/fragments/effective_invocations.sql`: the invocations of a window as billed and classified.
const EFFECTIVE_INVOCATIONS: &str = include_str!("../sql/fragments/effective_invocations.sql");

/// Inlines the fragments a template names, without their leading comment lines.
fn with_fragments(template: &str) -> String {
    let body: Vec<&str> = EFFECTIVE_INVOCATIONS
        .lines()
        .skip_while(|line| line.trim_start().starts_with("--"))
        .collect();
    template.replace("{effective_invocations}", body.join("\n").trim_end())
}

/// Spans of one trace, by project and trace id (hex).
pub const TRACE_SPANS_BY_TRACE_ID: &str = include_str!("../sql/trace_spans_by_trace_id.sql");
/// Spans of a batch of traces (Jaeger search results).
pub const TRACE_SPANS_BY_TRACE_IDS: &str = include_str!("../sql/trace_spans_by_trace_ids.sql");

/// Chain step: the spans of a batch of traces.
pub const CHAIN_TRACE_SPANS: &str = include_str!("../sql/chain_trace_spans.sql");
/// Chain step: traces whose spans link to a batch of traces.
pub const CHAIN_LINKS_TO_TRACES: &str = include_str!("../sql/chain_links_to_traces.sql");
/// Chain step: traces that produced or consumed a batch of message ids.
pub const CHAIN_MESSAGES_BY_ID: &str = include_str!("../sql/chain_messages_by_id.sql");
/// Chain cost and cold starts: invocation records of the chain's traces.
pub const CHAIN_INVOCATIONS: &str = include_str!("../sql/chain_invocations.sql");
/// Messages never consumed, or whose consumers kept failing.
pub const CHAINS_BROKEN: &str = include_str!("../sql/chains_broken.sql");
/// Trace search, step 1: candidate traces by span filters, after a cursor.
pub const TRACE_SEARCH_CANDIDATES: &str = include_str!("../sql/trace_search_candidates.sql");
/// Trace search, step 2: whole-trace summaries of the candidates.
pub const TRACE_SUMMARIES: &str = include_str!("../sql/trace_summaries.sql");
/// Services in a window.
pub const SERVICES: &str = include_str!("../sql/services.sql");
/// Operations of one service in a window.
pub const SERVICE_OPERATIONS: &str = include_str!("../sql/service_operations.sql");
/// Service map: calls between services.
pub const MAP_CALLS: &str = include_str!("../sql/map_calls.sql");
/// Service map: publishes to and consumes from destinations.
pub const MAP_MESSAGING: &str = include_str!("../sql/map_messaging.sql");
/// Service map: consumers that only link to the messages they consume.
pub const MAP_LINK_CONSUMERS: &str = include_str!("../sql/map_link_consumers.sql");

/// Per-function invocation statistics over a window.
pub static FUNCTION_STATS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_stats.sql")));
/// One function's statistics per time bucket.
pub static FUNCTION_TIMESERIES: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_timeseries.sql")));
/// Billing units per function, bucket and pricing traits.
pub static FUNCTION_COST_GROUPS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_cost_groups.sql")));
/// One function's cold-start invocations.
pub static COLDSTART_INVOCATIONS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/coldstart_invocations.sql")));
/// One function's duration histogram, cold vs warm.
pub static DURATION_HISTOGRAM: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/duration_histogram.sql")));
/// One function's invocations per version (dashboard).
pub static FUNCTION_VERSIONS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_versions.sql")));
/// One function's failed, slowest or newest invocations (dashboard).
pub static FUNCTION_INVOCATIONS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_invocations.sql")));
/// Every function together over a window (dashboard headline figures).
pub static FUNCTION_WINDOW_TOTALS: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("../sql/function_window_totals.sql")));
/// One function's REPORT-line memory figures (dashboard).
pub const FUNCTION_REPORT_MEMORY: &str = include_str!("../sql/function_report_memory.sql");
/// Projects with invocations in a window (dashboard project selector).
pub const PROJECTS: &str = include_str!("../sql/projects.sql");
/// FaaS metric points in a window.
pub const FAAS_METRIC_POINTS: &str = include_str!("../sql/faas_metric_points.sql");

/// Every template with its file name (fragments inlined), for dialect checks.
pub fn all() -> Vec<(&'static str, &'static str)> {
    vec![
        ("trace_spans_by_trace_id.sql", TRACE_SPANS_BY_TRACE_ID),
        ("trace_spans_by_trace_ids.sql", TRACE_SPANS_BY_TRACE_IDS),
        ("chain_trace_spans.sql", CHAIN_TRACE_SPANS),
        ("chain_links_to_traces.sql", CHAIN_LINKS_TO_TRACES),
        ("chain_messages_by_id.sql", CHAIN_MESSAGES_BY_ID),
        ("chain_invocations.sql", CHAIN_INVOCATIONS),
        ("chains_broken.sql", CHAINS_BROKEN),
        ("trace_search_candidates.sql", TRACE_SEARCH_CANDIDATES),
        ("trace_summaries.sql", TRACE_SUMMARIES),
        ("services.sql", SERVICES),
        ("service_operations.sql", SERVICE_OPERATIONS),
        ("map_calls.sql", MAP_CALLS),
        ("map_messaging.sql", MAP_MESSAGING),
        ("map_link_consumers.sql", MAP_LINK_CONSUMERS),
        ("function_stats.sql", FUNCTION_STATS.as_str()),
        ("function_timeseries.sql", FUNCTION_TIMESERIES.as_str()),
        ("function_cost_groups.sql", FUNCTION_COST_GROUPS.as_str()),
        ("coldstart_invocations.sql", COLDSTART_INVOCATIONS.as_str()),
        ("duration_histogram.sql", DURATION_HISTOGRAM.as_str()),
        ("faas_metric_points.sql", FAAS_METRIC_POINTS),
        ("function_versions.sql", FUNCTION_VERSIONS.as_str()),
        ("function_invocations.sql", FUNCTION_INVOCATIONS.as_str()),
        (
            "function_window_totals.sql",
            FUNCTION_WINDOW_TOTALS.as_str(),
        ),
        ("function_report_memory.sql", FUNCTION_REPORT_MEMORY),
        ("projects.sql", PROJECTS),
    ]
}

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
        let mut listed: Vec<String> = super::all()
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        listed.sort();
        assert_eq!(files, listed);
        for (name, template) in super::all() {
            assert!(
                template.contains("-- params:"),
                "{name} lacks a -- params: line"
            );
            assert!(
                !template.contains("{effective_invocations}"),
                "{name} has a fragment left to inline"
            );
        }
    }
}
