//! Event-driven flows built with the real OpenTelemetry SDK: one tracer
//! provider per function (service), a batch exporter over OTLP/gRPC,
//! explicit start and end times so known answers are exact, and W3C
//! trace context carried in message attributes as real producers do.

#![allow(dead_code)]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Message attributes: the carrier of the producer's trace context.
pub type MessageAttributes = HashMap<String, String>;

/// One instrumented function with its own tracer provider.
pub struct Function {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Function {
    /// A function named `service` exporting to `otlp_grpc_url` in batches,
    /// on AWS Lambda with 128 MiB on x86_64 (what pricing needs).
    pub fn new(otlp_grpc_url: &str, service: &str) -> anyhow::Result<Self> {
        Self::with_pricing_attributes(otlp_grpc_url, service, true)
    }

    /// A function whose telemetry says nothing about provider, memory or
    /// architecture, so its invocations cannot be priced.
    pub fn unpriced(otlp_grpc_url: &str, service: &str) -> anyhow::Result<Self> {
        Self::with_pricing_attributes(otlp_grpc_url, service, false)
    }

    fn with_pricing_attributes(
        otlp_grpc_url: &str,
        service: &str,
        priced: bool,
    ) -> anyhow::Result<Self> {
        let mut resource = Resource::builder()
            .with_service_name(service.to_owned())
            .with_attribute(KeyValue::new("faas.name", service.to_owned()));
        if priced {
            resource = resource
                .with_attribute(KeyValue::new("cloud.provider", "aws"))
                .with_attribute(KeyValue::new("faas.max_memory", 128))
                .with_attribute(KeyValue::new("host.arch", "x86_64"));
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(otlp_grpc_url)
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("chain-tests");
        Ok(Self { provider, tracer })
    }

    /// Starts a span under `parent` (an empty context starts a new trace).
    pub fn start(&self, step: Step<'_>) -> Context {
        let span = self
            .tracer
            .span_builder(step.name.to_owned())
            .with_kind(step.kind)
            .with_start_time(step.start)
            .with_attributes(step.attributes)
            .with_links(step.links.into_iter().map(Link::with_context).collect())
            .start_with_context(&self.tracer, step.parent);
        step.parent.with_span(span)
    }

    /// Flushes and shuts the provider down, off the async runtime (the
    /// batch exporter blocks).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let provider = self.provider;
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            provider.force_flush()?;
            provider.shutdown()?;
            Ok(())
        })
        .await?
    }
}

/// What a span to start looks like.
pub struct Step<'a> {
    pub name: &'a str,
    pub kind: SpanKind,
    pub parent: &'a Context,
    pub start: SystemTime,
    pub attributes: Vec<KeyValue>,
    pub links: Vec<SpanContext>,
}

impl<'a> Step<'a> {
    /// A span named `name` of `kind` under `parent`, starting at `start`.
    pub fn new(name: &'a str, kind: SpanKind, parent: &'a Context, start: SystemTime) -> Self {
        Self {
            name,
            kind,
            parent,
            start,
            attributes: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn attributes(mut self, attributes: Vec<KeyValue>) -> Self {
        self.attributes = attributes;
        self
    }

    pub fn links(mut self, links: Vec<SpanContext>) -> Self {
        self.links = links;
        self
    }
}

/// Ends the span of `context` at `end`, failed with `error` when given.
pub fn end(context: &Context, end: SystemTime, error: Option<&str>) {
    let span = context.span();
    if let Some(message) = error {
        span.set_status(Status::error(message.to_owned()));
    }
    span.end_with_timestamp(end);
}

/// A clock for a flow: `at(ms)` is `ms` milliseconds after its base.
#[derive(Clone, Copy)]
pub struct Clock {
    pub base: SystemTime,
}

impl Clock {
    /// A flow that began `ago` before now.
    pub fn started_ago(ago: Duration) -> Self {
        Self {
            base: tracehouse_model::time::now() - ago,
        }
    }

    pub fn at(&self, millis: u64) -> SystemTime {
        self.base + Duration::from_millis(millis)
    }

    /// Unix nanoseconds of `at(millis)`.
    pub fn nanos(&self, millis: u64) -> u64 {
        self.at(millis)
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64
    }
}

/// Message attributes carrying `context`, as a producer sends them.
pub fn inject(context: &Context) -> MessageAttributes {
    let mut attributes = MessageAttributes::new();
    TraceContextPropagator::new().inject_context(context, &mut attributes);
    attributes
}

/// The producer's context, as a consumer reads it from message attributes.
pub fn extract(attributes: &MessageAttributes) -> Context {
    TraceContextPropagator::new().extract(attributes)
}

/// The producer's span context, for a link.
pub fn extracted_span_context(attributes: &MessageAttributes) -> SpanContext {
    extract(attributes).span().span_context().clone()
}

/// Trace id (hex) of a context's span.
pub fn trace_hex(context: &Context) -> String {
    context.span().span_context().trace_id().to_string()
}

/// Span id (hex) of a context's span.
pub fn span_hex(context: &Context) -> String {
    context.span().span_context().span_id().to_string()
}

/// New-convention messaging attributes.
pub fn message_attributes(operation: &str, destination: &str, message_id: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("messaging.system", "aws_sqs"),
        KeyValue::new("messaging.operation.type", operation.to_owned()),
        KeyValue::new("messaging.destination.name", destination.to_owned()),
        KeyValue::new("messaging.message.id", message_id.to_owned()),
    ]
}

/// Old-convention messaging attributes.
pub fn old_message_attributes(
    operation: &str,
    destination: &str,
    message_id: &str,
) -> Vec<KeyValue> {
    vec![
        KeyValue::new("messaging.system", "rabbitmq"),
        KeyValue::new("messaging.operation", operation.to_owned()),
        KeyValue::new("messaging.destination", destination.to_owned()),
        KeyValue::new("messaging.message_id", message_id.to_owned()),
    ]
}
