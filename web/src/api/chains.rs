//! `GET /api/v1/chains/{trace_id}` and `GET /api/v1/chains/broken`.

use super::window::WindowParams;
use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use tracehouse_model::time::now_unix_nano;
use tracehouse_model::TraceId;
use tracehouse_query::chains::broken::BrokenChainsView;
use tracehouse_query::chains::ChainView;

/// Largest number of broken hand-offs listed.
const MAX_BROKEN_LIMIT: u64 = 1000;

/// The causal chain of a trace; 400 for a malformed id, 404 when unknown.
pub async fn get_chain(
    State(state): State<AppState>,
    scope: Scope,
    Path(trace_id): Path<String>,
) -> Result<Json<ChainView>, ApiError> {
    let trace_id: TraceId = trace_id
        .parse()
        .map_err(|error| ApiError::bad_request(format!("trace_id: {error}")))?;
    Ok(Json(state.query.chain(&scope.project, trace_id).await?))
}

/// Parameters of the broken-chains list.
#[derive(Debug, Deserialize)]
pub struct BrokenParams {
    #[serde(flatten)]
    pub window: WindowParams,
    pub limit: Option<String>,
}

/// Broken hand-offs published in the window (default: the last hour).
pub async fn get_broken_chains(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<BrokenParams>,
) -> Result<Json<BrokenChainsView>, ApiError> {
    let window = params.window.resolve(state.query.limits())?;
    let limit = match params.limit.as_deref() {
        None | Some("") => 100,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|limit| (1..=MAX_BROKEN_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit: expected 1 to {MAX_BROKEN_LIMIT}"))
            })?,
    };
    Ok(Json(
        state
            .query
            .broken_chains(&scope.project, window, now_unix_nano(), limit)
            .await?,
    ))
}
