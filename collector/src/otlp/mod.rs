//! OTLP protobuf types to domain types, and request body decoding.

pub mod convert;
pub mod decode;
