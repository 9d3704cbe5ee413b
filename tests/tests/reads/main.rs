//! The read side: trace search, the Jaeger API, causal chains, the serverless read model, query templates and guards.
//! The area's test files, linked into one test binary.

#[path = "../support/mod.rs"]
mod support;

mod chains_e2e;
mod golden_answers;
mod jaeger_api;
mod pricing_rounding;
mod query_guards;
mod query_templates;
mod serverless_consistency;
mod serverless_functions;
mod serverless_sdk;
mod trace_search;
