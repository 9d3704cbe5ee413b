//! `GET /api/v1/traces/{trace_id}`.

use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use tracehouse_model::TraceId;
use tracehouse_query::TraceView;

/// The whole trace; 400 for a malformed id, 404 when unknown.
pub async fn get_trace(
    State(state): State<AppState>,
    scope: Scope,
    Path(trace_id): Path<String>,
) -> Result<Json<TraceView>, ApiError> {
    let trace_id: TraceId = trace_id
        .parse()
        .map_err(|error| ApiError::bad_request(format!("trace_id: {error}")))?;
    Ok(Json(state.query.trace(&scope.project, trace_id).await?))
}
