//! The JSON shapes of Jaeger's HTTP query API (what the Jaeger UI and
//! Grafana's Jaeger data source read), and the mapping from Tracehouse spans.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tracehouse_model::{SpanKind, StatusCode};
use tracehouse_query::traces::EventView;
use tracehouse_query::{SpanView, TraceView};

/// The envelope of every Jaeger API answer.
#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    pub data: T,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub errors: Option<Vec<EnvelopeError>>,
}

/// One error in the envelope.
#[derive(Debug, Serialize)]
pub struct EnvelopeError {
    pub code: u16,
    pub msg: String,
}

impl<T: Serialize> Envelope<T> {
    /// A successful answer with `total` items.
    pub fn new(data: T, total: usize) -> Self {
        Self {
            data,
            total,
            limit: 0,
            offset: 0,
            errors: None,
        }
    }
}

/// A key/value with Jaeger's type name: string, bool, int64, float64 or binary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(rename = "type")]
    pub value_type: &'static str,
    pub value: Value,
}

/// A parent (`CHILD_OF`) or link (`FOLLOWS_FROM`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub ref_type: &'static str,
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// A span event.
#[derive(Debug, Clone, Serialize)]
pub struct Log {
    /// Microseconds.
    pub timestamp: u64,
    pub fields: Vec<KeyValue>,
}

/// A Jaeger span.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerSpan {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
    pub operation_name: String,
    pub references: Vec<Reference>,
    pub flags: u32,
    /// Microseconds since the Unix epoch.
    pub start_time: u64,
    /// Microseconds.
    pub duration: u64,
    pub tags: Vec<KeyValue>,
    pub logs: Vec<Log>,
    #[serde(rename = "processID")]
    pub process_id: String,
    pub warnings: Option<Vec<String>>,
}

/// The process (service and resource) that emitted spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub service_name: String,
    pub tags: Vec<KeyValue>,
}

/// A Jaeger trace.
#[derive(Debug, Clone, Serialize)]
pub struct JaegerTrace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub spans: Vec<JaegerSpan>,
    pub processes: BTreeMap<String, Process>,
    pub warnings: Option<Vec<String>>,
}

/// A service-to-service dependency.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub parent: String,
    pub child: String,
    pub call_count: u64,
}

/// An operation with its span kind (`/operations`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    pub span_kind: String,
}

fn key_value(key: &str, value: &Value) -> KeyValue {
    let (value_type, value) = match value {
        Value::Bool(_) => ("bool", value.clone()),
        Value::Number(number) if number.is_i64() || number.is_u64() => ("int64", value.clone()),
        Value::Number(_) => ("float64", value.clone()),
        Value::String(_) => ("string", value.clone()),
        Value::Null => ("string", Value::String(String::new())),
        other => ("string", Value::String(other.to_string())),
    };
    KeyValue {
        key: key.to_owned(),
        value_type,
        value,
    }
}

fn string_tag(key: &str, value: &str) -> KeyValue {
    key_value(key, &Value::String(value.to_owned()))
}

fn key_values(object: &Value) -> Vec<KeyValue> {
    object
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| key_value(key, value))
                .collect()
        })
        .unwrap_or_default()
}

fn micros(nanos: u64) -> u64 {
    nanos / 1_000
}

fn log(event: &EventView) -> Log {
    let mut fields = vec![string_tag("event", &event.name)];
    fields.extend(key_values(&event.attributes));
    Log {
        timestamp: micros(event.time_unix_nano),
        fields,
    }
}

/// Span tags: the attributes, then what Jaeger shows from OpenTelemetry
/// fields (`span.kind`, `otel.status_code`, `error`, scope).
fn tags(span: &SpanView) -> Vec<KeyValue> {
    let mut tags = key_values(&span.attributes);
    if !matches!(span.kind, SpanKind::Unspecified | SpanKind::Internal) {
        tags.push(string_tag("span.kind", span.kind.as_str()));
    }
    if span.status_code != StatusCode::Unset {
        tags.push(string_tag(
            "otel.status_code",
            &span.status_code.as_str().to_uppercase(),
        ));
    }
    if span.status_code == StatusCode::Error {
        tags.push(key_value("error", &Value::Bool(true)));
    }
    if !span.status_message.is_empty() {
        tags.push(string_tag("otel.status_description", &span.status_message));
    }
    if !span.scope.name.is_empty() {
        tags.push(string_tag("otel.scope.name", &span.scope.name));
    }
    if !span.scope.version.is_empty() {
        tags.push(string_tag("otel.scope.version", &span.scope.version));
    }
    tags
}

fn references(span: &SpanView) -> Vec<Reference> {
    let parent = (!span.parent_span_id.is_empty()).then(|| Reference {
        ref_type: "CHILD_OF",
        trace_id: span.trace_id.clone(),
        span_id: span.parent_span_id.clone(),
    });
    parent
        .into_iter()
        .chain(span.links.iter().map(|link| Reference {
            ref_type: "FOLLOWS_FROM",
            trace_id: link.trace_id.clone(),
            span_id: link.span_id.clone(),
        }))
        .collect()
}

/// A trace in Jaeger's shape; one process per distinct service and resource.
pub fn jaeger_trace(trace: TraceView) -> JaegerTrace {
    let mut processes: BTreeMap<String, Process> = BTreeMap::new();
    let mut process_ids: Vec<(Process, String)> = Vec::new();
    let spans = trace
        .spans
        .into_iter()
        .map(|span| {
            let process = Process {
                service_name: span.service.clone(),
                tags: key_values(&span.resource),
            };
            let process_id = match process_ids.iter().find(|(known, _)| *known == process) {
                Some((_, id)) => id.clone(),
                None => {
                    let id = format!("p{}", process_ids.len() + 1);
                    processes.insert(id.clone(), process.clone());
                    process_ids.push((process, id.clone()));
                    id
                }
            };
            JaegerSpan {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                operation_name: span.name.clone(),
                references: references(&span),
                flags: span.flags,
                start_time: micros(span.start_time_unix_nano),
                duration: micros(span.duration_ns),
                tags: tags(&span),
                logs: span.events.iter().map(log).collect(),
                process_id,
                warnings: None,
            }
        })
        .collect();
    JaegerTrace {
        trace_id: trace.trace_id,
        spans,
        processes,
        warnings: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_carry_jaeger_type_names() {
        let tags = key_values(&json!({"a": "x", "b": true, "c": 3, "d": 1.5, "e": [1]}));
        let types: Vec<&str> = tags.iter().map(|tag| tag.value_type).collect();
        assert_eq!(types, vec!["string", "bool", "int64", "float64", "string"]);
        assert_eq!(tags[4].value, json!("[1]"));
    }
}
