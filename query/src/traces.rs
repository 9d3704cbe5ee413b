//! One trace by id.

use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::QueryService;
use serde::Serialize;
use serde_json::Value;
use tracehouse_model::{ProjectId, SpanKind, StatusCode, TraceId};
use tracehouse_schema::attribute_codec::decode_to_json;
use tracehouse_schema::rows::SpanRow;

/// A trace as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct TraceView {
    pub trace_id: String,
    pub spans: Vec<SpanView>,
}

/// One span as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct SpanView {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    pub service: String,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub duration_ns: u64,
    pub status_code: StatusCode,
    pub status_message: String,
    pub trace_state: String,
    pub flags: u32,
    pub attributes: Value,
    pub resource: Value,
    pub scope: ScopeView,
    pub events: Vec<EventView>,
    pub links: Vec<LinkView>,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
}

/// Instrumentation scope of a span.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeView {
    pub name: String,
    pub version: String,
}

/// A span event.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub time_unix_nano: u64,
    pub name: String,
    pub attributes: Value,
}

/// A span link.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub trace_id: String,
    pub span_id: String,
    pub trace_state: String,
    pub attributes: Value,
}

impl QueryService {
    /// Every span of a trace, oldest first.
    pub async fn trace(
        &self,
        project: &ProjectId,
        trace_id: TraceId,
    ) -> Result<TraceView, QueryError> {
        let params = trace_params(project, trace_id);
        let rows: Vec<SpanRow> = self.fetch(&sql::TRACE_SPANS_BY_TRACE_ID, &params).await?;
        if rows.is_empty() {
            return Err(QueryError::NotFound(format!("trace {trace_id}")));
        }
        Ok(TraceView {
            trace_id: trace_id.to_hex(),
            spans: rows.into_iter().map(span_view).collect(),
        })
    }
}

/// The binds of `trace_spans_by_trace_id.sql`.
fn trace_params(project: &ProjectId, trace_id: TraceId) -> Params {
    Params::new()
        .set("project", project.as_str())
        .set("trace_id", trace_id.to_hex())
}

/// The binds of `trace_spans_by_trace_ids.sql`.
fn batch_params(project: &ProjectId, trace_ids: &[TraceId]) -> Params {
    Params::new()
        .set("project", project.as_str())
        .set(
            "trace_ids",
            trace_ids.iter().map(TraceId::to_hex).collect::<Vec<_>>(),
        )
        .set("limit", MAX_BATCH_SPANS)
}

/// Most spans read for a batch of traces; a search page stops there.
pub const MAX_BATCH_SPANS: u64 = 100_000;

impl QueryService {
    /// The traces of `trace_ids` that exist, in the order asked, each with
    /// its spans oldest first. Reads at most [`MAX_BATCH_SPANS`] spans.
    pub async fn traces(
        &self,
        project: &ProjectId,
        trace_ids: &[TraceId],
    ) -> Result<Vec<TraceView>, QueryError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let params = batch_params(project, trace_ids);
        let rows: Vec<SpanRow> = self.fetch(&sql::TRACE_SPANS_BY_TRACE_IDS, &params).await?;
        let mut by_trace: std::collections::HashMap<[u8; 16], Vec<SpanView>> =
            std::collections::HashMap::new();
        for row in rows {
            by_trace
                .entry(row.trace_id)
                .or_default()
                .push(span_view(row));
        }
        Ok(trace_ids
            .iter()
            .filter_map(|trace_id| {
                let spans = by_trace.remove(trace_id.as_bytes())?;
                Some(TraceView {
                    trace_id: trace_id.to_hex(),
                    spans,
                })
            })
            .collect())
    }
}

/// The API form of a stored span.
pub fn span_view(row: SpanRow) -> SpanView {
    let parse_json =
        |text: &str| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    let events = row
        .event_times_unix_nano
        .iter()
        .zip(&row.event_names)
        .zip(
            row.event_attributes
                .iter()
                .map(String::as_str)
                .chain(std::iter::repeat("{}")),
        )
        .map(|((time, name), attributes)| EventView {
            time_unix_nano: *time,
            name: name.clone(),
            attributes: parse_json(attributes),
        })
        .collect();
    let links = row
        .link_trace_ids
        .iter()
        .zip(&row.link_span_ids)
        .zip(
            row.link_trace_states
                .iter()
                .map(String::as_str)
                .chain(std::iter::repeat("")),
        )
        .zip(
            row.link_attributes
                .iter()
                .map(String::as_str)
                .chain(std::iter::repeat("{}")),
        )
        .map(
            |(((trace_id, span_id), trace_state), attributes)| LinkView {
                trace_id: hex::encode(trace_id),
                span_id: hex::encode(span_id),
                trace_state: trace_state.to_owned(),
                attributes: parse_json(attributes),
            },
        )
        .collect();
    SpanView {
        trace_id: hex::encode(row.trace_id),
        span_id: hex::encode(row.span_id),
        parent_span_id: if row.parent_span_id == [0; 8] {
            String::new()
        } else {
            hex::encode(row.parent_span_id)
        },
        name: row.name,
        kind: SpanKind::from_number(i64::from(row.kind)),
        service: row.service,
        start_time_unix_nano: row.start_time_unix_nano,
        end_time_unix_nano: row.end_time_unix_nano,
        duration_ns: row.duration_ns,
        status_code: StatusCode::from_number(i64::from(row.status_code)),
        status_message: row.status_message,
        trace_state: row.trace_state,
        flags: row.flags,
        attributes: decode_to_json(
            &row.attribute_keys,
            &row.attribute_values,
            &row.attribute_types,
        ),
        resource: decode_to_json(
            &row.resource_keys,
            &row.resource_values,
            &row.resource_types,
        ),
        scope: ScopeView {
            name: row.scope_name.to_string(),
            version: row.scope_version.to_string(),
        },
        events,
        links,
        dropped_attributes_count: row.dropped_attributes_count,
        dropped_events_count: row.dropped_events_count,
        dropped_links_count: row.dropped_links_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bind_what_their_templates_declare() {
        let project = ProjectId::default();
        let trace_id: TraceId = "0af7651916cd43dd8448eb211c80319c".parse().expect("valid");
        let one = trace_params(&project, trace_id);
        assert_eq!(sql::TRACE_SPANS_BY_TRACE_ID.check(&one), Ok(()));
        let batch = batch_params(&project, &[trace_id]);
        assert_eq!(sql::TRACE_SPANS_BY_TRACE_IDS.check(&batch), Ok(()));
    }
}
