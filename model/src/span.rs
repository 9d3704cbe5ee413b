//! Spans and their parts.

use crate::attributes::Attributes;
use crate::ids::{SpanId, TraceId};
use std::sync::Arc;

/// What a span represents, as OpenTelemetry's `SpanKind`; serialized as
/// [`SpanKind::as_str`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// All kinds, in OTLP number order.
    pub const ALL: [SpanKind; 6] = [
        Self::Unspecified,
        Self::Internal,
        Self::Server,
        Self::Client,
        Self::Producer,
        Self::Consumer,
    ];

    /// The OTLP enum number; also the stored Enum8 value.
    pub fn as_number(self) -> u8 {
        self as u8
    }

    /// From the OTLP enum number; unknown numbers are `Unspecified`.
    pub fn from_number(number: i64) -> Self {
        Self::ALL
            .get(usize::try_from(number).unwrap_or(0))
            .copied()
            .unwrap_or_default()
    }

    /// Lowercase name as the APIs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// Span status code; serialized lowercase (`unset`, `ok`, `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// The OTLP enum number; also the stored Enum8 value.
    pub fn as_number(self) -> u8 {
        self as u8
    }

    /// From the OTLP enum number; unknown numbers are `Unset`.
    pub fn from_number(number: i64) -> Self {
        match number {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// Lowercase name as the APIs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// The instrumentation scope that produced a span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub name: String,
    pub version: String,
}

/// A timestamped event inside a span (an exception, a log line).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: String,
    pub attributes: Attributes,
}

/// A link from a span to another span, possibly in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: String,
    pub attributes: Attributes,
}

/// One span with everything OTLP carries for it, its resource and scope included.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub trace_state: String,
    pub flags: u32,
    pub name: String,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status_code: StatusCode,
    pub status_message: String,
    pub attributes: Attributes,
    /// Shared by every span of one `ResourceSpans`: decoded once, never copied per span.
    pub resource: Arc<Attributes>,
    /// Shared by every span of one `ScopeSpans`.
    pub scope: Arc<Scope>,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLink>,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
}

/// The service name used when the resource has none, as the OpenTelemetry SDKs do.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

impl Span {
    /// `service.name` of the resource, or `unknown_service`.
    pub fn service_name(&self) -> &str {
        self.resource
            .get_str("service.name")
            .unwrap_or(UNKNOWN_SERVICE)
    }

    /// Duration in nanoseconds; zero when the end precedes the start.
    pub fn duration_ns(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_numbers_match_otlp() {
        assert_eq!(SpanKind::from_number(5), SpanKind::Consumer);
        assert_eq!(SpanKind::from_number(99), SpanKind::Unspecified);
        assert_eq!(SpanKind::from_number(-1), SpanKind::Unspecified);
        assert_eq!(SpanKind::Producer.as_number(), 4);
        assert_eq!(StatusCode::from_number(2), StatusCode::Error);
        assert_eq!(StatusCode::Error.as_str(), "error");
    }
}
