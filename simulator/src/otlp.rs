//! OTLP messages for the simulator: attribute helpers, a batch of
//! telemetry grouped by resource, and the requests that carry it.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::collections::BTreeMap;

/// A string attribute.
pub fn text(key: &str, value: impl Into<String>) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.into()))
}

/// An integer attribute.
pub fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

/// A boolean attribute.
pub fn flag(key: &str, value: bool) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(value))
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "tracehouse-demo".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..InstrumentationScope::default()
    }
}

/// Telemetry of one simulated step, grouped by the resource that sent it.
#[derive(Debug, Default)]
pub struct Batch {
    resources: BTreeMap<String, Resource>,
    spans: BTreeMap<String, Vec<Span>>,
    logs: BTreeMap<String, Vec<LogRecord>>,
    metrics: BTreeMap<String, Vec<Metric>>,
}

impl Batch {
    /// Registers `resource` under `key` (once; later calls keep the first).
    pub fn resource(&mut self, key: &str, attributes: impl FnOnce() -> Vec<KeyValue>) {
        self.resources
            .entry(key.to_owned())
            .or_insert_with(|| Resource {
                attributes: attributes(),
                ..Resource::default()
            });
    }

    pub fn span(&mut self, resource: &str, span: Span) {
        self.spans
            .entry(resource.to_owned())
            .or_default()
            .push(span);
    }

    pub fn log(&mut self, resource: &str, record: LogRecord) {
        self.logs
            .entry(resource.to_owned())
            .or_default()
            .push(record);
    }

    pub fn metric(&mut self, resource: &str, metric: Metric) {
        self.metrics
            .entry(resource.to_owned())
            .or_default()
            .push(metric);
    }

    /// Spans in the batch.
    pub fn span_count(&self) -> usize {
        self.spans.values().map(Vec::len).sum()
    }

    fn resource_of(&self, key: &str) -> Option<Resource> {
        self.resources.get(key).cloned()
    }

    /// The batch as the three OTLP export requests (empty ones are `None`).
    pub fn into_requests(
        mut self,
    ) -> (
        Option<ExportTraceServiceRequest>,
        Option<ExportLogsServiceRequest>,
        Option<ExportMetricsServiceRequest>,
    ) {
        let spans = std::mem::take(&mut self.spans);
        let resource_spans: Vec<ResourceSpans> = spans
            .into_iter()
            .map(|(key, spans)| ResourceSpans {
                resource: self.resource_of(&key),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope()),
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            })
            .collect();
        let logs = std::mem::take(&mut self.logs);
        let resource_logs: Vec<ResourceLogs> = logs
            .into_iter()
            .map(|(key, log_records)| ResourceLogs {
                resource: self.resource_of(&key),
                scope_logs: vec![ScopeLogs {
                    scope: Some(scope()),
                    log_records,
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            })
            .collect();
        let metrics = std::mem::take(&mut self.metrics);
        let resource_metrics: Vec<ResourceMetrics> = metrics
            .into_iter()
            .map(|(key, metrics)| ResourceMetrics {
                resource: self.resource_of(&key),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope()),
                    metrics,
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            })
            .collect();
        (
            (!resource_spans.is_empty()).then_some(ExportTraceServiceRequest { resource_spans }),
            (!resource_logs.is_empty()).then_some(ExportLogsServiceRequest { resource_logs }),
            (!resource_metrics.is_empty())
                .then_some(ExportMetricsServiceRequest { resource_metrics }),
        )
    }
}
