//! Domain types of Tracehouse.
//!
//! These types are what the rest of the system speaks: the collector converts
//! OTLP protobuf messages into them (fallibly), the schema crate maps them to
//! ClickHouse rows, and the query side returns them. They carry no protobuf
//! or storage types, so each side can change without touching the others.

pub mod access;
pub mod attributes;
pub mod duration;
pub mod ids;
pub mod invocation;
pub mod platform_report;
pub mod project;
pub mod span;
pub mod time;

pub use attributes::{AttributeValue, Attributes};
pub use ids::{IdError, SpanId, TraceId};
pub use invocation::{Invocation, ParentLocality};
pub use platform_report::{PlatformReport, ReportStatus};
pub use project::{ProjectId, ProjectIdError};
pub use span::{Scope, Span, SpanEvent, SpanKind, SpanLink, StatusCode};
