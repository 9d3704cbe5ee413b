//! `/traces/{trace_id}`: one trace as a waterfall.

use super::waterfall::{layout, WaterfallRow};
use super::{query_error_page, render, trace_id_or_page};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tracehouse_model::{ProjectId, StatusCode};

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    trace_id: String,
    span_count: usize,
    error_count: usize,
    duration_ms: f64,
    services: Vec<String>,
    rows: Vec<WaterfallRow>,
}

/// The trace page; a readable 400/404 page for bad or unknown ids.
pub async fn trace_page(State(state): State<AppState>, Path(trace_id): Path<String>) -> Response {
    let trace_id = match trace_id_or_page(&trace_id) {
        Ok(trace_id) => trace_id,
        Err(page) => return page.into_response(),
    };
    let trace = match state.query.trace(&ProjectId::default(), trace_id).await {
        Ok(trace) => trace,
        Err(error) => return query_error_page(error),
    };
    let start = trace
        .spans
        .iter()
        .map(|span| span.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = trace
        .spans
        .iter()
        .map(|span| span.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    let mut services: Vec<String> = trace
        .spans
        .iter()
        .map(|span| span.service.clone())
        .collect();
    services.sort();
    services.dedup();
    render(&TracePage {
        trace_id: trace.trace_id.clone(),
        span_count: trace.spans.len(),
        error_count: trace
            .spans
            .iter()
            .filter(|span| span.status_code == StatusCode::Error)
            .count(),
        duration_ms: end.saturating_sub(start) as f64 / 1e6,
        services,
        rows: layout(&trace.spans),
    })
}
