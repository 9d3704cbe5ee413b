//! `/chains/{trace_id}`: the causal chain of a trace: its traces in causal
//! order, the root cause, the critical path and the hand-offs.

use super::{query_error_page, render, trace_id_or_page};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tracehouse_model::ProjectId;
use tracehouse_query::chains::ChainView;

#[derive(Template)]
#[template(path = "chain.html")]
struct ChainPage {
    trace_id: String,
    chain: ChainView,
    /// Largest `self_ms` on the critical path, for bar widths.
    longest_step_ms: f64,
}

/// The chain page; a readable 400/404 page for bad or unknown ids.
pub async fn chain_page(State(state): State<AppState>, Path(trace_id): Path<String>) -> Response {
    let parsed = match trace_id_or_page(&trace_id) {
        Ok(trace_id) => trace_id,
        Err(page) => return page.into_response(),
    };
    let chain = match state.query.chain(&ProjectId::default(), parsed).await {
        Ok(chain) => chain,
        Err(error) => return query_error_page(error),
    };
    let longest_step_ms = chain
        .critical_path
        .iter()
        .map(|step| step.self_ms)
        .fold(0.0, f64::max);
    render(&ChainPage {
        trace_id: parsed.to_hex(),
        chain,
        longest_step_ms,
    })
}
