//! Query templates. Each file's second line lists sample parameters
//! (`-- params: ...`) so that the dialect check can run it on any ClickHouse.

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

/// Every template with its file name, for dialect checks.
pub const ALL: &[(&str, &str)] = &[
    ("trace_spans_by_trace_id.sql", TRACE_SPANS_BY_TRACE_ID),
    ("trace_spans_by_trace_ids.sql", TRACE_SPANS_BY_TRACE_IDS),
    ("chain_trace_spans.sql", CHAIN_TRACE_SPANS),
    ("chain_links_to_traces.sql", CHAIN_LINKS_TO_TRACES),
    ("chain_messages_by_id.sql", CHAIN_MESSAGES_BY_ID),
    ("chains_broken.sql", CHAINS_BROKEN),
    ("trace_search_candidates.sql", TRACE_SEARCH_CANDIDATES),
    ("trace_summaries.sql", TRACE_SUMMARIES),
    ("services.sql", SERVICES),
    ("service_operations.sql", SERVICE_OPERATIONS),
    ("map_calls.sql", MAP_CALLS),
    ("map_messaging.sql", MAP_MESSAGING),
];

#[cfg(test)]
mod tests {
    use super::ALL;

    /// Splits a `-- params:` list on commas outside quotes and brackets.
    fn sample_params(line: &str) -> Vec<String> {
        let mut params = Vec::new();
        let (mut depth, mut quoted, mut current) = (0, false, String::new());
        for character in line.chars() {
            match character {
                '\'' => quoted = !quoted,
                '[' | '(' if !quoted => depth += 1,
                ']' | ')' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => {
                    params.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(character);
        }
        if !current.trim().is_empty() {
            params.push(current.trim().to_owned());
        }
        params
    }

    /// Every template documents itself, lists one sample per placeholder,
    /// and has no `?` outside placeholders (the crate would bind it).
    #[test]
    fn templates_list_a_sample_for_every_placeholder() {
        for (file, template) in ALL {
            let mut lines = template.lines();
            assert!(
                lines.next().is_some_and(|line| line.starts_with("-- ")),
                "{file}: first line describes the query"
            );
            let params_line = lines
                .next()
                .and_then(|line| line.strip_prefix("-- params:"))
                .unwrap_or_else(|| panic!("{file}: second line is -- params: ..."));
            let body: String = lines.collect::<Vec<_>>().join("\n");
            let placeholders = body.replace("?fields", "").matches('?').count();
            assert_eq!(
                sample_params(params_line).len(),
                placeholders,
                "{file}: samples and placeholders differ"
            );
        }
    }
}
