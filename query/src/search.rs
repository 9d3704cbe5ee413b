//! Trace search: traces in a time window with a span matching filters,
//! newest first, paged with an opaque cursor.

use crate::error::QueryError;
use crate::sql;
use crate::time_range::TimeRange;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use tracehouse_model::ProjectId;

/// Largest page of traces.
pub const MAX_SEARCH_LIMIT: u64 = 1000;
/// Page size when none is given.
pub const DEFAULT_SEARCH_LIMIT: u64 = 20;

/// What to search for. Empty strings and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceSearch {
    pub window: Option<TimeRange>,
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

/// Where the next page starts: after this trace (start time, then trace id, descending).
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

impl QueryService {
    /// Traces matching `search`, newest first.
    pub async fn search_traces(
        &self,
        project: &ProjectId,
        search: &TraceSearch,
        default_window: TimeRange,
    ) -> Result<TraceSearchView, QueryError> {
        let window = search.window.unwrap_or(default_window);
        let limit = search.limit.clamp(1, MAX_SEARCH_LIMIT);
        let attributes: Vec<String> = search
            .attributes
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let (cursor_start, cursor_trace) = search.cursor.map_or((u64::MAX, String::new()), |c| {
            (c.start_time_unix_nano, hex::encode(c.trace_id))
        });
        let rows: Vec<TraceSummaryRow> = self
            .client()
            .query(sql::TRACE_SEARCH)
            .bind(project.as_str())
            .bind(project.as_str())
            .bind(window.start_seconds())
            .bind(window.end_seconds())
            .bind(window.start_unix_nano)
            .bind(window.end_unix_nano)
            .bind(search.service.as_str())
            .bind(search.service.as_str())
            .bind(search.function.as_str())
            .bind(search.function.as_str())
            .bind(search.name.as_str())
            .bind(search.name.as_str())
            .bind(attributes)
            .bind(u8::from(search.errors_only))
            .bind(search.min_duration_ns.unwrap_or(0))
            .bind(search.max_duration_ns.unwrap_or(u64::MAX))
            .bind(cursor_start)
            .bind(cursor_start)
            .bind(cursor_trace)
            .bind(limit)
            .fetch_all()
            .await?;
        let full_page = u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit;
        let next_cursor = rows.last().filter(|_| full_page).map(|row| {
            SearchCursor {
                start_time_unix_nano: row.trace_start_unix_nano,
                trace_id: row.trace_id,
            }
            .encode()
        });
        let traces = rows
            .into_iter()
            .map(|row| {
                let mut services = row.services;
                services.sort();
                TraceSummaryView {
                    trace_id: hex::encode(row.trace_id),
                    root_service: row.root_service,
                    root_name: row.root_name,
                    start_time_unix_nano: row.trace_start_unix_nano,
                    duration_ms: row
                        .trace_end_unix_nano
                        .saturating_sub(row.trace_start_unix_nano)
                        as f64
                        / 1_000_000.0,
                    span_count: row.span_count,
                    error_count: row.error_count,
                    services,
                }
            })
            .collect();
        Ok(TraceSearchView {
            traces,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
