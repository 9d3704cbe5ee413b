//! Fallible conversion of OTLP protobuf messages into domain types.
//!
//! A span that cannot be stored faithfully is rejected with a reason from a
//! fixed set (used as a metric label); everything else in the request is
//! kept. Links whose ids are invalid are dropped and counted in the span's
//! `dropped_links_count`, since the span itself is still sound. The limits
//! of [`SpanLimits`] cut what exceeds them (see [`super::limits`]); spans
//! beyond the per-request limit are rejected.

use super::limits::{Limiter, Tally, Truncation};
use crate::config::SpanLimits;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as proto;
use std::sync::Arc;
use std::time::Duration;
use tracehouse_model::{
    AttributeValue, Attributes, Scope, Span, SpanEvent, SpanId, SpanKind, SpanLink, StatusCode,
    TraceId,
};

/// Why one span was rejected. The text is a metric label and part of the
/// partial-success message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanRejection {
    InvalidTraceId,
    InvalidSpanId,
    InvalidParentSpanId,
    TimestampOutOfRange,
    /// Beyond `max_spans_per_request` in one request.
    TooManySpansInRequest,
}

impl SpanRejection {
    /// Label and message text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidTraceId => "invalid_trace_id",
            Self::InvalidSpanId => "invalid_span_id",
            Self::InvalidParentSpanId => "invalid_parent_span_id",
            Self::TimestampOutOfRange => "timestamp_out_of_range",
            Self::TooManySpansInRequest => "spans_per_request",
        }
    }
}

/// The accepted time range for span start times, in Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct TimeWindow {
    pub earliest_unix_nano: u64,
    pub latest_unix_nano: u64,
}

impl TimeWindow {
    /// From now minus `max_age` to now plus `max_future_skew`.
    pub fn around_now(max_age: Duration, max_future_skew: Duration) -> Self {
        let now = tracehouse_model::time::since_epoch();
        let nanos = |duration: Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Self {
            earliest_unix_nano: nanos(now.saturating_sub(max_age)),
            latest_unix_nano: nanos(now.saturating_add(max_future_skew)),
        }
    }

    /// Whether `time_unix_nano` lies in the window.
    pub fn contains(&self, time_unix_nano: u64) -> bool {
        (self.earliest_unix_nano..=self.latest_unix_nano).contains(&time_unix_nano)
    }
}

/// The outcome of converting one request.
#[derive(Debug, Default)]
pub struct ConvertedSpans {
    /// Spans that can be stored.
    pub spans: Vec<Span>,
    /// Rejected spans, by reason.
    pub rejected: Vec<(SpanRejection, u64)>,
    /// Parts of kept spans cut by a limit, by limit.
    pub truncated: Tally<Truncation>,
}

impl ConvertedSpans {
    /// Total number of rejected spans.
    pub fn rejected_count(&self) -> u64 {
        self.rejected.iter().map(|(_, count)| count).sum()
    }

    fn reject(&mut self, reason: SpanRejection) {
        self.reject_many(reason, 1);
    }

    fn reject_many(&mut self, reason: SpanRejection, count: u64) {
        if count == 0 {
            return;
        }
        match self
            .rejected
            .iter_mut()
            .find(|(existing, _)| *existing == reason)
        {
            Some((_, total)) => *total += count,
            None => self.rejected.push((reason, count)),
        }
    }
}

/// Number of spans in a request, before any validation.
pub fn count_spans(resource_spans: &[proto::ResourceSpans]) -> u64 {
    resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len() as u64)
        .sum()
}

/// Converts every span of a request, keeping the valid ones within `limits`.
pub fn convert_resource_spans(
    resource_spans: Vec<proto::ResourceSpans>,
    window: TimeWindow,
    limits: &SpanLimits,
) -> ConvertedSpans {
    let mut converted = ConvertedSpans::default();
    let mut truncated = Tally::default();
    let mut room = limits.max_spans_per_request;
    for resource_span in resource_spans {
        let mut limiter = Limiter {
            limits,
            cut: &mut truncated,
        };
        // Decoded once per group; every span of it shares them.
        let resource = Arc::new(
            resource_span
                .resource
                .map(|resource| limiter.attributes(resource.attributes).0)
                .unwrap_or_default(),
        );
        for scope_span in resource_span.scope_spans {
            let scope = Arc::new(convert_scope(scope_span.scope));
            let mut spans = scope_span.spans;
            let over = spans.len().saturating_sub(room);
            spans.truncate(room);
            room -= spans.len();
            converted.reject_many(SpanRejection::TooManySpansInRequest, over as u64);
            for span in spans {
                match convert_span(span, (&resource, &scope), window, &mut limiter) {
                    Ok(span) => converted.spans.push(span),
                    Err(reason) => converted.reject(reason),
                }
            }
        }
    }
    converted.truncated = truncated;
    converted
}

fn convert_scope(scope: Option<InstrumentationScope>) -> Scope {
    scope
        .map(|scope| Scope {
            name: scope.name,
            version: scope.version,
        })
        .unwrap_or_default()
}

fn convert_span(
    mut span: proto::Span,
    (resource, scope): (&Arc<Attributes>, &Arc<Scope>),
    window: TimeWindow,
    limiter: &mut Limiter<'_>,
) -> Result<Span, SpanRejection> {
    let trace_id =
        TraceId::from_bytes(&span.trace_id).map_err(|_| SpanRejection::InvalidTraceId)?;
    let span_id = SpanId::from_bytes(&span.span_id).map_err(|_| SpanRejection::InvalidSpanId)?;
    // An empty (or all-zero) parent id means a root span.
    let parent_span_id =
        if span.parent_span_id.is_empty() || span.parent_span_id.iter().all(|byte| *byte == 0) {
            None
        } else {
            Some(
                SpanId::from_bytes(&span.parent_span_id)
                    .map_err(|_| SpanRejection::InvalidParentSpanId)?,
            )
        };
    if !window.contains(span.start_time_unix_nano) {
        return Err(SpanRejection::TimestampOutOfRange);
    }
    let max_links = limiter.limits.max_links_per_span;
    let max_events = limiter.limits.max_events_per_span;
    let mut dropped_links_count = span.dropped_links_count.saturating_add(limiter.keep_first(
        &mut span.links,
        max_links,
        Truncation::LinksPerSpan,
    ));
    let dropped_events_count = span.dropped_events_count.saturating_add(limiter.keep_first(
        &mut span.events,
        max_events,
        Truncation::EventsPerSpan,
    ));
    let mut links = Vec::with_capacity(span.links.len());
    for link in span.links {
        match (
            TraceId::from_bytes(&link.trace_id),
            SpanId::from_bytes(&link.span_id),
        ) {
            (Ok(trace_id), Ok(span_id)) => links.push(SpanLink {
                trace_id,
                span_id,
                trace_state: link.trace_state,
                attributes: limiter.attributes(link.attributes).0,
            }),
            _ => dropped_links_count = dropped_links_count.saturating_add(1),
        }
    }
    let (status_code, status_message) = span
        .status
        .map(|status| {
            (
                StatusCode::from_number(i64::from(status.code)),
                status.message,
            )
        })
        .unwrap_or_default();
    let (attributes, dropped_attributes) = limiter.attributes(span.attributes);
    let events = span
        .events
        .into_iter()
        .map(|event| SpanEvent {
            time_unix_nano: event.time_unix_nano,
            name: event.name,
            attributes: limiter.attributes(event.attributes).0,
        })
        .collect();
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: span.trace_state,
        flags: span.flags,
        name: span.name,
        kind: SpanKind::from_number(i64::from(span.kind)),
        start_time_unix_nano: span.start_time_unix_nano,
        end_time_unix_nano: span.end_time_unix_nano,
        status_code,
        status_message,
        attributes,
        resource: Arc::clone(resource),
        scope: Arc::clone(scope),
        events,
        links,
        dropped_attributes_count: span
            .dropped_attributes_count
            .saturating_add(dropped_attributes),
        dropped_events_count,
        dropped_links_count,
    })
}

/// Converts OTLP key/values into domain attributes.
pub fn convert_attributes(attributes: Vec<KeyValue>) -> Attributes {
    attributes
        .into_iter()
        .map(|pair| (pair.key, convert_any_value(pair.value)))
        .collect()
}

/// Converts one OTLP value; a missing value is `Empty`.
pub fn convert_any_value(value: Option<AnyValue>) -> AttributeValue {
    let Some(inner) = value.and_then(|value| value.value) else {
        return AttributeValue::Empty;
    };
    match inner {
        any_value::Value::StringValue(text) => AttributeValue::String(text),
        any_value::Value::BoolValue(flag) => AttributeValue::Bool(flag),
        any_value::Value::IntValue(number) => AttributeValue::Int(number),
        any_value::Value::DoubleValue(number) => AttributeValue::Double(number),
        any_value::Value::BytesValue(bytes) => AttributeValue::Bytes(bytes),
        any_value::Value::ArrayValue(array) => AttributeValue::Array(
            array
                .values
                .into_iter()
                .map(|value| convert_any_value(Some(value)))
                .collect(),
        ),
        any_value::Value::KvlistValue(list) => AttributeValue::KvList(
            list.values
                .into_iter()
                .map(|pair| (pair.key, convert_any_value(pair.value)))
                .collect(),
        ),
        // String-table references (profiles) do not occur in traces.
        #[allow(unreachable_patterns)]
        _ => AttributeValue::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn window() -> TimeWindow {
        TimeWindow {
            earliest_unix_nano: 1_000,
            latest_unix_nano: 10_000,
        }
    }

    fn span(trace_id: Vec<u8>, span_id: Vec<u8>, start: u64) -> proto::Span {
        proto::Span {
            trace_id,
            span_id,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 10,
            name: "op".to_owned(),
            kind: 2,
            ..Default::default()
        }
    }

    fn request(spans: Vec<proto::Span>) -> Vec<proto::ResourceSpans> {
        vec![proto::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".to_owned(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("checkout".to_owned())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![proto::ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }]
    }

    #[test]
    fn keeps_valid_spans_and_counts_rejections_by_reason() {
        let converted = convert_resource_spans(
            request(vec![
                span(vec![1; 16], vec![2; 8], 5_000),
                span(vec![0; 16], vec![2; 8], 5_000),
                span(vec![1; 15], vec![2; 8], 5_000),
                span(vec![1; 16], vec![], 5_000),
                span(vec![1; 16], vec![3; 8], 99_999),
            ]),
            window(),
            &SpanLimits::default(),
        );
        assert_eq!(converted.spans.len(), 1);
        assert_eq!(converted.spans[0].service_name(), "checkout");
        assert_eq!(converted.spans[0].kind, SpanKind::Server);
        assert_eq!(
            converted.rejected,
            vec![
                (SpanRejection::InvalidTraceId, 2),
                (SpanRejection::InvalidSpanId, 1),
                (SpanRejection::TimestampOutOfRange, 1)
            ]
        );
        assert_eq!(converted.rejected_count(), 4);
    }

    #[test]
    fn drops_invalid_links_and_keeps_the_span() {
        let mut with_links = span(vec![1; 16], vec![2; 8], 5_000);
        with_links.links = vec![
            proto::span::Link {
                trace_id: vec![4; 16],
                span_id: vec![5; 8],
                ..Default::default()
            },
            proto::span::Link {
                trace_id: vec![4; 3],
                span_id: vec![5; 8],
                ..Default::default()
            },
        ];
        with_links.parent_span_id = vec![0; 8];
        let converted =
            convert_resource_spans(request(vec![with_links]), window(), &SpanLimits::default());
        let span = &converted.spans[0];
        assert_eq!(span.links.len(), 1);
        assert_eq!(span.dropped_links_count, 1);
        assert_eq!(span.parent_span_id, None);
    }
}
