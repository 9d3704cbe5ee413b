//! `/traces/{trace_id}`: one trace as a waterfall.

use super::render;
use super::waterfall::{layout, WaterfallRow};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracehouse_model::{ProjectId, TraceId};
use tracehouse_query::QueryError;

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

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    title: String,
    message: String,
}

pub(super) fn message(status: StatusCode, title: &str, message: String) -> Response {
    let mut response = render(&MessagePage {
        title: title.to_owned(),
        message,
    });
    *response.status_mut() = status;
    response
}

/// The trace page; a readable 400/404 page for bad or unknown ids.
pub async fn trace_page(State(state): State<AppState>, Path(trace_id): Path<String>) -> Response {
    let trace_id: TraceId = match trace_id.parse() {
        Ok(trace_id) => trace_id,
        Err(error) => return message(StatusCode::BAD_REQUEST, "Bad trace id", error.to_string()),
    };
    let trace = match state.query.trace(&ProjectId::default(), trace_id).await {
        Ok(trace) => trace,
        Err(QueryError::NotFound(what)) => {
            return message(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{what} not found"),
            )
        }
        Err(error) => return crate::ApiError::from(error).into_response(),
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
            .filter(|span| span.status_code == "error")
            .count(),
        duration_ms: end.saturating_sub(start) as f64 / 1e6,
        services,
        rows: layout(&trace.spans),
    })
}
