//! Trace search: traces in a time window with a span matching filters,
//! newest first, paged with an opaque cursor.

use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tracehouse_model::ProjectId;

/// Largest page of traces.
pub const MAX_SEARCH_LIMIT: u64 = 1000;
/// Page size when none is given.
pub const DEFAULT_SEARCH_LIMIT: u64 = 20;

/// What to search for. Empty strings and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceSearch {
    pub window: Option<TimeWindow>,
    pub service: String,
    /// `faas.name` resource attribute, else the service name.
    pub function: String,
    pub name: String,
    pub errors_only: bool,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    /// Span or resource attributes that one span must all have.
    pub attributes: Vec<(String, String)>,
    pub limit: u64,
    pub cursor: Option<SearchCursor>,
}

/// Where the next page starts: after this trace (first matching span's start, then trace id, descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    pub start_time_unix_nano: u64,
    pub trace_id: [u8; 16],
}

impl SearchCursor {
    /// The opaque text form: `<start nanos>-<trace id hex>`.
    pub fn encode(&self) -> String {
        format!(
            "{}-{}",
            self.start_time_unix_nano,
            hex::encode(self.trace_id)
        )
    }

    /// Parses [`Self::encode`]'s form.
    pub fn decode(text: &str) -> Result<Self, QueryError> {
        let bad = || QueryError::BadRequest(format!("cursor: malformed cursor {text:?}"));
        let (start, trace) = text.split_once('-').ok_or_else(bad)?;
        let start_time_unix_nano = start.parse().map_err(|_| bad())?;
        let mut trace_id = [0; 16];
        hex::decode_to_slice(trace, &mut trace_id).map_err(|_| bad())?;
        Ok(Self {
            start_time_unix_nano,
            trace_id,
        })
    }
}

/// One trace in search results.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSummaryView {
    pub trace_id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_time_unix_nano: u64,
    pub duration_ms: f64,
    pub span_count: u64,
    pub error_count: u64,
    pub services: Vec<String>,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSearchView {
    pub traces: Vec<TraceSummaryView>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct CandidateRow {
    trace_id: [u8; 16],
    first_match_unix_nano: u64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct TraceSummaryRow {
    trace_id: [u8; 16],
    root_service: String,
    root_name: String,
    trace_start_unix_nano: u64,
    trace_end_unix_nano: u64,
    span_count: u64,
    error_count: u64,
    services: Vec<String>,
}

/// Above every UTF-8 string that does not itself start with U+10FFFF: the
/// upper bound of "any" in a range filter, which lets the sort key prune
/// when a value is given and costs nothing when not.
const ABOVE_ALL_TEXT: &str = "\u{10FFFF}\u{10FFFF}";

/// `(low, high)` for a range filter that means "equal to `value`", or anything when empty.
fn text_range(value: &str) -> (&str, &str) {
    if value.is_empty() {
        ("", ABOVE_ALL_TEXT)
    } else {
        (value, value)
    }
}

/// Candidates fetched per result when trace-level filters may drop some.
const OVER_FETCH: u64 = 4;

impl TraceSearch {
    fn has_trace_level_filters(&self) -> bool {
        self.errors_only || self.min_duration_ns.is_some() || self.max_duration_ns.is_some()
    }

    fn trace_matches(&self, row: &TraceSummaryRow) -> bool {
        let duration = row
            .trace_end_unix_nano
            .saturating_sub(row.trace_start_unix_nano);
        (!self.errors_only || row.error_count > 0)
            && self.min_duration_ns.is_none_or(|min| duration >= min)
            && self.max_duration_ns.is_none_or(|max| duration <= max)
    }
}

/// The binds of `trace_search_candidates.sql`.
fn candidate_params(
    project: &ProjectId,
    search: &TraceSearch,
    window: TimeWindow,
    candidate_limit: u64,
) -> Params {
    let attributes: Vec<String> = search
        .attributes
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let (cursor_start, cursor_trace) = search.cursor.map_or((u64::MAX, String::new()), |c| {
        (c.start_time_unix_nano, hex::encode(c.trace_id))
    });
    let (service_low, service_high) = text_range(&search.service);
    let (name_low, name_high) = text_range(&search.name);
    Params::new()
        .set("project", project.as_str())
        .set("from_s", window.start_seconds())
        .set("to_s", window.end_seconds())
        .set("from_ns", window.start_unix_nano)
        .set("to_ns", window.end_unix_nano)
        .set("service_low", service_low)
        .set("service_high", service_high)
        .set("function", search.function.as_str())
        .set("name_low", name_low)
        .set("name_high", name_high)
        .set("attributes", attributes)
        .set("cursor_start_ns", cursor_start)
        .set("cursor_trace_id", cursor_trace)
        .set("limit", candidate_limit)
}

/// The binds of `trace_summaries.sql`.
fn summary_params(project: &ProjectId, trace_ids: Vec<String>) -> Params {
    Params::new()
        .set("project", project.as_str())
        .set("trace_ids", trace_ids)
}

impl QueryService {
    /// Traces matching `search`, newest first (by their first matching
    /// span). Step 1 finds candidate traces in the narrow `span_index` by
    /// the span filters (attribute filters checked in `spans`), step 2
    /// summarizes them from `spans` (ordered by trace id) and applies the
    /// status and duration filters. A page may hold fewer than `limit` traces while
    /// `next_cursor` still points further.
    pub async fn search_traces(
        &self,
        project: &ProjectId,
        search: &TraceSearch,
        default_window: TimeWindow,
    ) -> Result<TraceSearchView, QueryError> {
        let limit = search.limit.clamp(1, MAX_SEARCH_LIMIT);
        let candidate_limit = if search.has_trace_level_filters() {
            limit * OVER_FETCH
        } else {
            limit
        };
        let window = search.window.unwrap_or(default_window);
        let candidates = self
            .search_candidates(project, search, window, candidate_limit)
            .await?;
        let mut summaries: HashMap<[u8; 16], TraceSummaryRow> = if candidates.is_empty() {
            HashMap::new()
        } else {
            let trace_ids: Vec<String> = candidates
                .iter()
                .map(|candidate| hex::encode(candidate.trace_id))
                .collect();
            let params = summary_params(project, trace_ids);
            let rows: Vec<TraceSummaryRow> = self.fetch(&sql::TRACE_SUMMARIES, &params).await?;
            rows.into_iter().map(|row| (row.trace_id, row)).collect()
        };
        let candidates_full =
            u64::try_from(candidates.len()).unwrap_or(u64::MAX) >= candidate_limit;
        let mut traces = Vec::new();
        let mut next_cursor = None;
        for (position, candidate) in candidates.iter().enumerate() {
            let cursor = SearchCursor {
                start_time_unix_nano: candidate.first_match_unix_nano,
                trace_id: candidate.trace_id,
            };
            let is_last_candidate = position + 1 == candidates.len();
            if let Some(row) = summaries.remove(&candidate.trace_id) {
                if search.trace_matches(&row) {
                    traces.push(summary_view(row));
                }
            }
            let page_full = u64::try_from(traces.len()).unwrap_or(u64::MAX) >= limit;
            if page_full || is_last_candidate {
                if !is_last_candidate || candidates_full {
                    next_cursor = Some(cursor.encode());
                }
                break;
            }
        }
        Ok(TraceSearchView {
            traces,
            next_cursor,
        })
    }
}

/// The widths, in seconds, of the windows ending at the search window's end
/// that are tried before the whole window: the newest traces of a busy
/// service are found without aggregating every matching span of the day.
const NARROWED_WINDOWS_SECONDS: [u64; 3] = [300, 4_800, 76_800];

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct FirstSecondRow {
    trace_id: [u8; 16],
    first_second: u32,
}

impl QueryService {
    /// The first `candidate_limit` candidates of `search` in `window`,
    /// exactly as one query over the whole window finds them, reading
    /// narrowed windows first. In the window from second `a`, a trace with
    /// no span before `a` has its true first matching span; a trace that
    /// may have spans before `a` (its first second in trace_time_index) may
    /// rank lower. The candidates before the first such trace are exact,
    /// as every trace whose first match is at or after `a` is found; when
    /// they are fewer than asked, the next window is tried.
    async fn search_candidates(
        &self,
        project: &ProjectId,
        search: &TraceSearch,
        window: TimeWindow,
        candidate_limit: u64,
    ) -> Result<Vec<CandidateRow>, QueryError> {
        let end_seconds = u64::from(window.end_seconds());
        for width in NARROWED_WINDOWS_SECONDS {
            let start_seconds = end_seconds.saturating_sub(width);
            let start_unix_nano = start_seconds.saturating_mul(1_000_000_000);
            if start_unix_nano <= window.start_unix_nano {
                break;
            }
            let narrowed = TimeWindow {
                start_unix_nano,
                ..window
            };
            let params = candidate_params(project, search, narrowed, candidate_limit);
            let candidates: Vec<CandidateRow> =
                self.fetch(&sql::TRACE_SEARCH_CANDIDATES, &params).await?;
            if u64::try_from(candidates.len()).unwrap_or(u64::MAX) < candidate_limit {
                // Too few even if all are exact: the next window.
                continue;
            }
            let exact = self
                .exact_prefix(project, candidates, start_seconds)
                .await?;
            if u64::try_from(exact.len()).unwrap_or(u64::MAX) >= candidate_limit {
                return Ok(exact);
            }
        }
        let params = candidate_params(project, search, window, candidate_limit);
        self.fetch(&sql::TRACE_SEARCH_CANDIDATES, &params).await
    }

    /// The candidates before the first one whose trace has a span before
    /// second `start_seconds`.
    async fn exact_prefix(
        &self,
        project: &ProjectId,
        mut candidates: Vec<CandidateRow>,
        start_seconds: u64,
    ) -> Result<Vec<CandidateRow>, QueryError> {
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let trace_ids = candidates
            .iter()
            .map(|candidate| hex::encode(candidate.trace_id))
            .collect();
        let rows: Vec<FirstSecondRow> = self
            .fetch(
                &sql::TRACE_FIRST_SECONDS,
                &summary_params(project, trace_ids),
            )
            .await?;
        let earlier: std::collections::HashSet<[u8; 16]> = rows
            .into_iter()
            .filter(|row| u64::from(row.first_second) < start_seconds)
            .map(|row| row.trace_id)
            .collect();
        let exact = candidates
            .iter()
            .position(|candidate| earlier.contains(&candidate.trace_id))
            .unwrap_or(candidates.len());
        candidates.truncate(exact);
        Ok(candidates)
    }
}

impl TraceSearchView {
    /// The part of `range` in which the invocations of the found traces
    /// start: from the first trace's start to the last one's end (a
    /// millisecond later, for the rounding of `duration_ms`). A read of
    /// their invocations over it touches the granules of those seconds
    /// only; `None` when nothing was found.
    pub fn invocation_window(&self, range: &TimeWindow) -> Option<TimeWindow> {
        let start = self
            .traces
            .iter()
            .map(|trace| trace.start_time_unix_nano)
            .min()?;
        let end = self
            .traces
            .iter()
            .map(|trace| {
                let length = (trace.duration_ms * 1_000_000.0).ceil() as u64;
                trace
                    .start_time_unix_nano
                    .saturating_add(length)
                    .saturating_add(1_000_000)
            })
            .max()?;
        range.intersect(&TimeWindow {
            start_unix_nano: start,
            end_unix_nano: end,
        })
    }
}

fn summary_view(row: TraceSummaryRow) -> TraceSummaryView {
    let mut services = row.services;
    services.sort();
    TraceSummaryView {
        trace_id: hex::encode(row.trace_id),
        root_service: row.root_service,
        root_name: row.root_name,
        start_time_unix_nano: row.trace_start_unix_nano,
        duration_ms: row
            .trace_end_unix_nano
            .saturating_sub(row.trace_start_unix_nano) as f64
            / 1_000_000.0,
        span_count: row.span_count,
        error_count: row.error_count,
        services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(spans: &[(u64, f64)]) -> TraceSearchView {
        let traces = spans
            .iter()
            .map(|(start, duration_ms)| TraceSummaryView {
                trace_id: String::new(),
                root_service: String::new(),
                root_name: String::new(),
                start_time_unix_nano: *start,
                duration_ms: *duration_ms,
                span_count: 1,
                error_count: 0,
                services: Vec::new(),
            })
            .collect();
        TraceSearchView {
            traces,
            next_cursor: None,
        }
    }

    /// The found traces' invocations start between the first start and the
    /// last end, kept inside the searched range.
    #[test]
    fn invocations_of_found_traces_start_within_their_extent() {
        let range = TimeWindow {
            start_unix_nano: 1_000_000_000,
            end_unix_nano: 90_000_000_000,
        };
        let window =
            found(&[(5_000_000_000, 2.5), (3_000_000_000, 1_000.0)]).invocation_window(&range);
        assert_eq!(
            window,
            Some(TimeWindow {
                start_unix_nano: 3_000_000_000,
                end_unix_nano: 5_003_500_000,
            })
        );
        let past_the_end = found(&[(89_999_000_000, 5_000.0)]).invocation_window(&range);
        assert_eq!(past_the_end.map(|w| w.end_unix_nano), Some(90_000_000_000));
        assert_eq!(found(&[]).invocation_window(&range), None);
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = SearchCursor {
            start_time_unix_nano: 1_700_000_000_123_456_789,
            trace_id: [0xab; 16],
        };
        assert_eq!(SearchCursor::decode(&cursor.encode()).ok(), Some(cursor));
        assert!(SearchCursor::decode("nonsense").is_err());
        assert!(SearchCursor::decode("12-zz").is_err());
    }

    #[test]
    fn both_steps_bind_what_their_templates_declare() {
        let window = TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: 1,
        };
        let search = TraceSearch::default();
        let project = ProjectId::default();
        let candidates = candidate_params(&project, &search, window, 20);
        assert_eq!(sql::TRACE_SEARCH_CANDIDATES.check(&candidates), Ok(()));
        let summaries = summary_params(&project, vec![]);
        assert_eq!(sql::TRACE_SUMMARIES.check(&summaries), Ok(()));
        assert_eq!(sql::TRACE_FIRST_SECONDS.check(&summaries), Ok(()));
    }
}
