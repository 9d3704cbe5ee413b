//! Query templates and the fragments they share, registered by name.
//!
//! A template is a file in `query/sql/`: comment lines first (the second is
//! `-- params: name = literal, ...`, sample values the dialect checks bind),
//! then SQL with typed placeholders `{name:Type}` and fragments `{fragment}`
//! from `query/sql/fragments/`. Values reach the SQL only as bound values
//! ([`Template::query`] with [`Params`]); see [`template`] for why a raw `?`
//! is refused. To add a query: write the file, register it below and in
//! [`all`], and build its [`Params`] next to the code that reads its rows.

pub mod params;
pub mod template;

pub use params::{Params, Value};
pub use template::{FinalLimit, Fragment, Placeholder, Template};

use std::sync::LazyLock;

/// The binds of templates over a project and whole seconds of a window:
/// `project`, `from_s`, `to_s`.
pub fn project_window_params(
    project: &tracehouse_model::ProjectId,
    window: &crate::time_window::TimeWindow,
) -> Params {
    Params::new()
        .set("project", project.as_str())
        .set("from_s", window.start_seconds())
        .set("to_s", window.end_seconds())
}

/// `fragment!("name")`: the fragment `query/sql/fragments/name.sql`.
macro_rules! fragment {
    ($name:literal) => {
        Fragment {
            name: $name,
            text: include_str!(concat!("../../sql/fragments/", $name, ".sql")),
        }
    };
}

/// Every fragment, by the name templates write as `{name}`.
pub const FRAGMENTS: &[Fragment] = &[
    fragment!("function_filter"),
    fragment!("trace_filter"),
    fragment!("scope_selection"),
    fragment!("invocation_scope"),
    fragment!("billing_units"),
    fragment!("instance_first_spans"),
    fragment!("live_invocations"),
    fragment!("settled_facts"),
    fragment!("settled_invocations"),
    fragment!("effective_slots"),
    fragment!("slot_columns"),
    fragment!("slot_keys"),
    fragment!("effective_invocations"),
];

/// `template!("name.sql")`: the parsed template `query/sql/name.sql`.
macro_rules! template {
    ($file:literal) => {
        LazyLock::new(|| {
            Template::parse($file, include_str!(concat!("../../sql/", $file)), FRAGMENTS)
        })
    };
}

type Registered = LazyLock<Template>;

/// Spans of one trace, by project and trace id (hex).
pub static TRACE_SPANS_BY_TRACE_ID: Registered = template!("trace_spans_by_trace_id.sql");
/// Spans of a batch of traces (Jaeger search results).
pub static TRACE_SPANS_BY_TRACE_IDS: Registered = template!("trace_spans_by_trace_ids.sql");
/// Chain step: the spans of a batch of traces.
pub static CHAIN_TRACE_SPANS: Registered = template!("chain_trace_spans.sql");
/// Chain step: traces whose spans link to a batch of traces.
pub static CHAIN_LINKS_TO_TRACES: Registered = template!("chain_links_to_traces.sql");
/// Chain step: traces that produced or consumed a batch of message ids.
pub static CHAIN_MESSAGES_BY_ID: Registered = template!("chain_messages_by_id.sql");
/// Messages never consumed, or whose consumers kept failing.
pub static CHAINS_BROKEN: Registered = template!("chains_broken.sql");
/// Trace search, step 1: candidate traces by span filters, after a cursor.
pub static TRACE_SEARCH_CANDIDATES: Registered = template!("trace_search_candidates.sql");
/// Trace search, step 2: whole-trace summaries of the candidates.
pub static TRACE_SUMMARIES: Registered = template!("trace_summaries.sql");
/// Trace search, narrowed windows: the first second of each of a batch of traces.
pub static TRACE_FIRST_SECONDS: Registered = template!("trace_first_seconds.sql");
/// Services in a window.
pub static SERVICES: Registered = template!("services.sql");
/// Operations of one service in a window.
pub static SERVICE_OPERATIONS: Registered = template!("service_operations.sql");
/// Service map: calls between services.
pub static MAP_CALLS: Registered = template!("map_calls.sql");
/// Service map: publishes to and consumes from destinations.
pub static MAP_MESSAGING: Registered = template!("map_messaging.sql");
/// Service map: consumers that only link to the messages they consume.
pub static MAP_LINK_CONSUMERS: Registered = template!("map_link_consumers.sql");
/// Per-function invocation statistics of a scope.
pub static FUNCTION_STATS: Registered = template!("function_stats.sql");
/// Statistics per time bucket of a scope.
pub static FUNCTION_TIMESERIES: Registered = template!("function_timeseries.sql");
/// Billing units per function, bucket, pricing traits and cold/warm, of a
/// scope: the functions list, time series and chains price these.
pub static FUNCTION_COST_GROUPS: Registered = template!("function_cost_groups.sql");
/// The cold-start invocations of a scope.
pub static COLDSTART_INVOCATIONS: Registered = template!("coldstart_invocations.sql");
/// Duration histogram of a scope, cold vs warm.
pub static DURATION_HISTOGRAM: Registered = template!("duration_histogram.sql");
/// FaaS metric points in a window.
pub static FAAS_METRIC_POINTS: Registered = template!("faas_metric_points.sql");
/// Dashboard: a scope's invocations per version.
pub static FUNCTION_VERSIONS: Registered = template!("function_versions.sql");
/// Dashboard: a scope's failed, slowest or newest invocations.
pub static FUNCTION_INVOCATIONS: Registered = template!("function_invocations.sql");
/// Dashboard: a scope's invocations together (headline figures).
pub static FUNCTION_WINDOW_TOTALS: Registered = template!("function_window_totals.sql");
/// Dashboard: one function's REPORT-line memory figures.
pub static FUNCTION_REPORT_MEMORY: Registered = template!("function_report_memory.sql");
/// Dashboard: billing units per trace of a scope's traces.
pub static TRACE_COST_GROUPS: Registered = template!("trace_cost_groups.sql");
/// Dashboard: projects with invocations in a window.
pub static PROJECTS: Registered = template!("projects.sql");
/// Settled invocations: where a project's reads split (see `serverless::settle`).
pub static SETTLE_MARK: Registered = template!("settle_mark.sql");
/// Settled invocations: the data that arrived below a mark since its pass.
pub static SETTLE_DIRTY: Registered = template!("settle_dirty.sql");
/// The settler: projects to settle, and the server's clock.
pub static SETTLE_PROJECTS: Registered = template!("settle_projects.sql");
/// The settler: the first minute of a project without a mark.
pub static SETTLE_FIRST_MINUTE: Registered = template!("settle_first_minute.sql");
/// The settler: the earliest minute still receiving data.
pub static SETTLE_NOISY: Registered = template!("settle_noisy.sql");
/// The settler: the newest generation so far.
pub static SETTLE_NEWEST_GENERATION: Registered = template!("settle_newest_generation.sql");
/// The settler (a write): stores a window's invocations under a generation.
pub static SETTLE_INVOCATIONS: Registered = template!("settle_invocations.sql");
/// The settler (a write): sums a generation's facts per minute.
pub static SETTLE_SLOTS: Registered = template!("settle_slots.sql");
/// The settler (a write): lists the minutes a generation holds.
pub static SETTLE_MINUTES: Registered = template!("settle_minutes.sql");

/// Every template, for the dialect checks.
pub fn all() -> Vec<&'static Template> {
    [
        &TRACE_SPANS_BY_TRACE_ID,
        &TRACE_SPANS_BY_TRACE_IDS,
        &CHAIN_TRACE_SPANS,
        &CHAIN_LINKS_TO_TRACES,
        &CHAIN_MESSAGES_BY_ID,
        &CHAINS_BROKEN,
        &TRACE_SEARCH_CANDIDATES,
        &TRACE_SUMMARIES,
        &TRACE_FIRST_SECONDS,
        &SERVICES,
        &SERVICE_OPERATIONS,
        &MAP_CALLS,
        &MAP_MESSAGING,
        &MAP_LINK_CONSUMERS,
        &FUNCTION_STATS,
        &FUNCTION_TIMESERIES,
        &FUNCTION_COST_GROUPS,
        &COLDSTART_INVOCATIONS,
        &DURATION_HISTOGRAM,
        &FAAS_METRIC_POINTS,
        &FUNCTION_VERSIONS,
        &FUNCTION_INVOCATIONS,
        &FUNCTION_WINDOW_TOTALS,
        &FUNCTION_REPORT_MEMORY,
        &PROJECTS,
        &TRACE_COST_GROUPS,
        &SETTLE_MARK,
        &SETTLE_DIRTY,
        &SETTLE_PROJECTS,
        &SETTLE_FIRST_MINUTE,
        &SETTLE_NEWEST_GENERATION,
        &SETTLE_NOISY,
    ]
    .into_iter()
    .map(|registered| &**registered)
    .collect()
}

/// Every template that writes (`INSERT ... SELECT`): no rows come back, so
/// the rule of a final `LIMIT` is not theirs. The golden test runs them.
pub fn writes() -> Vec<&'static Template> {
    [&SETTLE_INVOCATIONS, &SETTLE_SLOTS, &SETTLE_MINUTES]
        .into_iter()
        .map(|registered| &**registered)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sql_files(folder: &str) -> Vec<String> {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut files: Vec<String> = std::fs::read_dir(directory)
            .expect("folder exists")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        files
    }

    /// Every file in `query/sql` is registered, so the dialect checks see it.
    #[test]
    fn every_template_file_is_listed() {
        let mut listed: Vec<String> = super::all()
            .iter()
            .chain(super::writes().iter())
            .map(|template| template.name.to_owned())
            .collect();
        listed.sort();
        assert_eq!(sql_files("sql"), listed);
    }

    /// Every file in `query/sql/fragments` is registered under its stem.
    #[test]
    fn every_fragment_file_is_registered() {
        let mut registered: Vec<String> = super::FRAGMENTS
            .iter()
            .map(|fragment| format!("{}.sql", fragment.name))
            .collect();
        registered.sort();
        assert_eq!(sql_files("sql/fragments"), registered);
    }

    /// Every template parses, its samples name exactly its placeholders, and
    /// the clickhouse crate sees as many `?` as there are placeholders.
    #[test]
    fn every_template_parses_with_samples_for_its_placeholders() {
        for template in super::all().into_iter().chain(super::writes()) {
            let name = template.name;
            assert!(template.has_params_line(), "{name} lacks a -- params: line");
            assert!(
                template.samples_match(),
                "{name}: samples {:?} for placeholders {:?}",
                template.samples(),
                template.names()
            );
            let typed_samples =
                template
                    .names()
                    .into_iter()
                    .fold(super::Params::new(), |params, (name, kind)| {
                        let value = match kind {
                            "String" => super::Value::String(String::new()),
                            "UInt8" => super::Value::UInt8(0),
                            "UInt32" => super::Value::UInt32(0),
                            "UInt64" => super::Value::UInt64(0),
                            _ => super::Value::Strings(vec![]),
                        };
                        params.set(leak(name), value)
                    });
            assert_eq!(template.check(&typed_samples), Ok(()));
            assert!(template.sample_sql().is_some(), "{name}");
        }
    }

    /// Every template ends with a `LIMIT`: a bound one, the backstop one row
    /// over the largest `max_result_rows` (a longer answer fails rather than
    /// being cut), or a small number the page shows as its top list.
    #[test]
    fn every_template_ends_with_a_limit() {
        for template in super::all() {
            assert_limited(template);
        }
    }

    /// Asserts the rule of [`every_template_ends_with_a_limit`] for `template`.
    pub fn assert_limited(template: &super::Template) {
        let name = template.name;
        match template.final_limit() {
            Some(super::FinalLimit::Bound) => {}
            Some(super::FinalLimit::Rows(rows)) => assert!(
                rows == crate::limits::BACKSTOP_LIMIT || rows <= 1_000,
                "{name}: LIMIT {rows} is neither the backstop nor a short top list"
            ),
            None => panic!("{name} does not end with a LIMIT"),
        }
    }

    /// The reads that bind a project and a window in seconds.
    #[test]
    fn window_reads_bind_what_their_templates_declare() {
        let window = crate::time_window::TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: 1,
        };
        let params = super::project_window_params(&Default::default(), &window);
        for template in [
            &super::SERVICES,
            &super::MAP_CALLS,
            &super::MAP_MESSAGING,
            &super::MAP_LINK_CONSUMERS,
        ] {
            assert_eq!(template.check(&params), Ok(()));
        }
        let operations = params.set("service", "svc");
        assert_eq!(super::SERVICE_OPERATIONS.check(&operations), Ok(()));
    }

    fn leak(name: &str) -> &'static str {
        Box::leak(name.to_owned().into_boxed_str())
    }
}
