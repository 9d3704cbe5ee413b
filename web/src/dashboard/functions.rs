//! The functions page: one row per function with invocations, errors, cold
//! starts, latency and cost over a window (the same numbers as
//! `GET /api/v1/functions`).

use super::render;
use crate::api::window::WindowParams;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use tracehouse_model::ProjectId;
use tracehouse_query::serverless::FunctionSummary;

/// One function as the page shows it, numbers already formatted.
struct FunctionRow {
    function: String,
    provider: String,
    memory: String,
    source: &'static str,
    invocations: u64,
    errors: u64,
    error_percent: String,
    cold_starts: u64,
    cold_start_percent: String,
    p50_ms: String,
    p95_ms: String,
    cold_start_penalty_ms: String,
    cost_usd: String,
    projected_monthly_usd: String,
    cost_note: String,
}

#[derive(Template)]
#[template(path = "functions.html")]
struct FunctionsPage {
    window: String,
    rows: Vec<FunctionRow>,
    total_cost_usd: String,
    error: Option<String>,
}

fn dollars(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |usd| format!("${usd:.6}"))
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1}"))
}

fn row(summary: FunctionSummary) -> FunctionRow {
    FunctionRow {
        provider: [
            summary.provider.as_deref(),
            summary.region.as_deref(),
            summary.arch.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        memory: summary
            .memory_mb
            .map_or_else(|| "–".to_owned(), |mb| format!("{mb} MB")),
        source: summary.source.as_str(),
        invocations: summary.invocations,
        errors: summary.errors,
        error_percent: format!("{:.1}%", summary.error_rate * 100.0),
        cold_starts: summary.cold_starts,
        cold_start_percent: format!("{:.1}%", summary.cold_start_rate * 100.0),
        p50_ms: milliseconds(summary.duration_ms.as_ref().map(|d| d.p50)),
        p95_ms: milliseconds(summary.duration_ms.as_ref().map(|d| d.p95)),
        cold_start_penalty_ms: milliseconds(summary.cold_start_penalty_ms),
        cost_usd: dollars(summary.cost_usd),
        projected_monthly_usd: dollars(summary.projected_monthly_cost_usd),
        cost_note: summary.cost_unknown_reason.unwrap_or_default(),
        function: summary.function,
    }
}

/// `GET /functions?from=&to=`.
pub async fn functions_page(
    State(state): State<AppState>,
    Query(window): Query<WindowParams>,
) -> Response {
    let describe = format!(
        "{} to {}",
        window.from.as_deref().unwrap_or("now-1h"),
        window.to.as_deref().unwrap_or("now")
    );
    let range = match window.resolve() {
        Ok(range) => range,
        Err(error) => return super::error_page(error),
    };
    let page = match state.query.functions(&ProjectId::default(), &range).await {
        Ok(list) => FunctionsPage {
            window: describe,
            total_cost_usd: dollars(list.totals.cost_usd),
            rows: list.functions.into_iter().map(row).collect(),
            error: None,
        },
        Err(error) => FunctionsPage {
            window: describe,
            rows: vec![],
            total_cost_usd: dollars(None),
            error: Some(crate::ApiError::from(error).message().to_owned()),
        },
    };
    render(&page)
}
