//! OTLP protobuf types to domain types and rows, and request body decoding.

pub mod convert;
pub mod decode;
pub mod limits;
pub mod logs;
pub mod metrics;
