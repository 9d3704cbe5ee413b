//! Ingest on both transports: OTLP with raw and SDK clients, limits, tokens, Lambda formats, row encoding and parser fuzzing.
//! The area's test files, linked into one test binary.

mod fuzz_parsers;
mod grpc_ingest;
mod hostile_metrics;
mod http_ingest;
mod ingest_auth;
mod ingest_limits;
mod lambda_formats;
mod otlp_sdk;
mod row_encoding;
mod serverless_ingest;
