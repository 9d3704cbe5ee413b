//! Row types for the ClickHouse crate, one per table, with conversions from
//! domain types. Field order is column order: rows travel as `RowBinary`.

use crate::attribute_codec;
use serde::{Deserialize, Serialize};
use tracehouse_model::{ProjectId, Span};

/// A row of `spans` (and of `trace_spans`, which has the same columns).
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct SpanRow {
    pub project: String,
    /// Start time in whole seconds (the partition and sort column).
    pub timestamp: u32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub duration_ns: u64,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// All zeros for a root span.
    pub parent_span_id: [u8; 8],
    pub trace_state: String,
    pub flags: u32,
    pub service: String,
    pub name: String,
    /// `SpanKind` number.
    pub kind: u8,
    /// `StatusCode` number.
    pub status_code: u8,
    pub status_message: String,
    pub attribute_keys: Vec<String>,
    pub attribute_values: Vec<String>,
    pub attribute_types: Vec<u8>,
    pub resource_keys: Vec<String>,
    pub resource_values: Vec<String>,
    pub resource_types: Vec<u8>,
    pub scope_name: String,
    pub scope_version: String,
    pub event_times_unix_nano: Vec<u64>,
    pub event_names: Vec<String>,
    /// One JSON object per event.
    pub event_attributes: Vec<String>,
    pub link_trace_ids: Vec<[u8; 16]>,
    pub link_span_ids: Vec<[u8; 8]>,
    pub link_trace_states: Vec<String>,
    /// One JSON object per link.
    pub link_attributes: Vec<String>,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
}

impl SpanRow {
    /// The row for `span` in `project`.
    pub fn from_span(project: &ProjectId, span: &Span) -> Self {
        let attributes = attribute_codec::encode(&span.attributes);
        let resource = attribute_codec::encode(&span.resource);
        Self {
            project: project.as_str().to_owned(),
            timestamp: u32::try_from(span.start_time_unix_nano / 1_000_000_000).unwrap_or(u32::MAX),
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
            duration_ns: span.duration_ns(),
            trace_id: *span.trace_id.as_bytes(),
            span_id: *span.span_id.as_bytes(),
            parent_span_id: span
                .parent_span_id
                .map_or([0; 8], |parent| *parent.as_bytes()),
            trace_state: span.trace_state.clone(),
            flags: span.flags,
            service: span.service_name().to_owned(),
            name: span.name.clone(),
            kind: span.kind.as_number(),
            status_code: span.status_code.as_number(),
            status_message: span.status_message.clone(),
            attribute_keys: attributes.keys,
            attribute_values: attributes.values,
            attribute_types: attributes.types,
            resource_keys: resource.keys,
            resource_values: resource.values,
            resource_types: resource.types,
            scope_name: span.scope.name.clone(),
            scope_version: span.scope.version.clone(),
            event_times_unix_nano: span
                .events
                .iter()
                .map(|event| event.time_unix_nano)
                .collect(),
            event_names: span.events.iter().map(|event| event.name.clone()).collect(),
            event_attributes: span
                .events
                .iter()
                .map(|event| event.attributes.to_json().to_string())
                .collect(),
            link_trace_ids: span
                .links
                .iter()
                .map(|link| *link.trace_id.as_bytes())
                .collect(),
            link_span_ids: span
                .links
                .iter()
                .map(|link| *link.span_id.as_bytes())
                .collect(),
            link_trace_states: span
                .links
                .iter()
                .map(|link| link.trace_state.clone())
                .collect(),
            link_attributes: span
                .links
                .iter()
                .map(|link| link.attributes.to_json().to_string())
                .collect(),
            dropped_attributes_count: span.dropped_attributes_count,
            dropped_events_count: span.dropped_events_count,
            dropped_links_count: span.dropped_links_count,
        }
    }
}
