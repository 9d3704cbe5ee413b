//! Row types for the ClickHouse crate, one per table, with conversions from
//! domain types. Field order is column order: rows travel as `RowBinary`.
//! Columns that every span of one resource or scope has in common are
//! shared (`Arc`), so they are encoded once per group and never copied.

use crate::attribute_codec;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracehouse_model::{Attributes, ProjectId, Scope, Span};

/// A row of `spans`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct SpanRow {
    pub project: Arc<str>,
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
    pub resource_keys: Arc<Vec<String>>,
    pub resource_values: Arc<Vec<String>>,
    pub resource_types: Arc<Vec<u8>>,
    pub scope_name: Arc<str>,
    pub scope_version: Arc<str>,
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

/// The resource columns of one resource, shared by its spans' rows.
#[derive(Debug, Clone)]
struct ResourceColumns {
    keys: Arc<Vec<String>>,
    values: Arc<Vec<String>>,
    types: Arc<Vec<u8>>,
}

impl ResourceColumns {
    fn encode(resource: &Attributes) -> Self {
        let encoded = attribute_codec::encode(resource);
        Self {
            keys: Arc::new(encoded.keys),
            values: Arc::new(encoded.values),
            types: Arc::new(encoded.types),
        }
    }
}

/// Builds span rows, encoding each resource and scope once: spans that
/// share a resource (the same `Arc`, as conversion gives them) share its
/// encoded columns.
pub struct SpanRowEncoder {
    project: Arc<str>,
    resource: Option<(Arc<Attributes>, ResourceColumns)>,
    scope: Option<(Arc<Scope>, Arc<str>, Arc<str>)>,
}

impl SpanRowEncoder {
    /// An encoder of rows of `project`.
    pub fn new(project: &ProjectId) -> Self {
        Self {
            project: Arc::from(project.as_str()),
            resource: None,
            scope: None,
        }
    }

    fn resource_columns(&mut self, resource: &Arc<Attributes>) -> ResourceColumns {
        match &self.resource {
            Some((last, columns)) if Arc::ptr_eq(last, resource) => columns.clone(),
            _ => {
                let columns = ResourceColumns::encode(resource);
                self.resource = Some((Arc::clone(resource), columns.clone()));
                columns
            }
        }
    }

    fn scope_columns(&mut self, scope: &Arc<Scope>) -> (Arc<str>, Arc<str>) {
        match &self.scope {
            Some((last, name, version)) if Arc::ptr_eq(last, scope) => {
                (Arc::clone(name), Arc::clone(version))
            }
            _ => {
                let (name, version): (Arc<str>, Arc<str>) = (
                    Arc::from(scope.name.as_str()),
                    Arc::from(scope.version.as_str()),
                );
                self.scope = Some((Arc::clone(scope), Arc::clone(&name), Arc::clone(&version)));
                (name, version)
            }
        }
    }

    /// The row of `span`.
    pub fn row(&mut self, span: &Span) -> SpanRow {
        let resource = self.resource_columns(&span.resource);
        let scope = self.scope_columns(&span.scope);
        SpanRow::with_shared(span, Arc::clone(&self.project), resource, scope)
    }
}

impl SpanRow {
    /// The row for `span` in `project` (to build many rows, use a [`SpanRowEncoder`]).
    pub fn from_span(project: &ProjectId, span: &Span) -> Self {
        SpanRowEncoder::new(project).row(span)
    }

    fn with_shared(
        span: &Span,
        project: Arc<str>,
        resource: ResourceColumns,
        (scope_name, scope_version): (Arc<str>, Arc<str>),
    ) -> Self {
        let attributes = attribute_codec::encode(&span.attributes);
        Self {
            project,
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
            scope_name,
            scope_version,
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

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::{AttributeValue, SpanId, SpanKind, StatusCode, TraceId};

    fn span(number: u8, resource: &Arc<Attributes>, scope: &Arc<Scope>) -> Span {
        Span {
            trace_id: TraceId::from_bytes(&[1; 16]).expect("valid id"),
            span_id: SpanId::from_bytes(&[number; 8]).expect("valid id"),
            parent_span_id: None,
            trace_state: String::new(),
            flags: 0,
            name: format!("operation-{number}"),
            kind: SpanKind::Server,
            start_time_unix_nano: 2_000_000_000,
            end_time_unix_nano: 3_000_000_000,
            status_code: StatusCode::Unset,
            status_message: String::new(),
            attributes: Attributes::default(),
            resource: Arc::clone(resource),
            scope: Arc::clone(scope),
            events: vec![],
            links: vec![],
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    #[test]
    fn spans_of_one_resource_share_its_encoded_columns() {
        let resource: Arc<Attributes> = Arc::new(
            vec![(
                "service.name".to_owned(),
                AttributeValue::String("checkout".to_owned()),
            )]
            .into_iter()
            .collect(),
        );
        let other: Arc<Attributes> = Arc::new(Attributes::default());
        let scope = Arc::new(Scope {
            name: "sdk".to_owned(),
            version: "1.0".to_owned(),
        });
        let project = ProjectId::default();
        let mut encoder = SpanRowEncoder::new(&project);
        let rows: Vec<SpanRow> = [(1, &resource), (2, &resource), (3, &other)]
            .into_iter()
            .map(|(number, resource)| encoder.row(&span(number, resource, &scope)))
            .collect();
        assert!(Arc::ptr_eq(&rows[0].resource_keys, &rows[1].resource_keys));
        assert!(Arc::ptr_eq(
            &rows[0].resource_values,
            &rows[1].resource_values
        ));
        assert!(Arc::ptr_eq(&rows[0].scope_name, &rows[2].scope_name));
        assert!(!Arc::ptr_eq(&rows[1].resource_keys, &rows[2].resource_keys));
        assert_eq!(rows[0].resource_keys.as_slice(), ["service.name"]);
        assert_eq!(rows[0].service, "checkout");
        assert!(rows[2].resource_keys.is_empty());
        // Shared or not, a row is the same row.
        assert_eq!(
            rows[1],
            SpanRow::from_span(&project, &span(2, &resource, &scope))
        );
    }
}
