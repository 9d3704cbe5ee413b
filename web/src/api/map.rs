//! `GET /api/v1/map`: the service and event map of a window.

use super::window::WindowParams;
use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use tracehouse_query::map::ServiceMapView;

/// Nodes and edges with counts, error rates and p95 latency.
pub async fn get_map(
    State(state): State<AppState>,
    scope: Scope,
    Query(window): Query<WindowParams>,
) -> Result<Json<ServiceMapView>, ApiError> {
    let window = window.resolve(state.query.limits())?;
    Ok(Json(state.query.service_map(&scope.project, window).await?))
}
