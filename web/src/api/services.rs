//! `GET /api/v1/services` and `GET /api/v1/services/{service}/operations`.

use super::window::WindowParams;
use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Serialize;
use tracehouse_query::services::OperationView;

/// The services answer.
#[derive(Debug, Serialize)]
pub struct ServicesView {
    pub services: Vec<String>,
}

/// The operations answer.
#[derive(Debug, Serialize)]
pub struct OperationsView {
    pub service: String,
    pub operations: Vec<OperationView>,
}

/// Services with spans in the window.
pub async fn get_services(
    State(state): State<AppState>,
    scope: Scope,
    Query(window): Query<WindowParams>,
) -> Result<Json<ServicesView>, ApiError> {
    let window = window.resolve(state.query.limits())?;
    Ok(Json(ServicesView {
        services: state.query.services(&scope.project, window).await?,
    }))
}

/// Operations of one service in the window.
pub async fn get_operations(
    State(state): State<AppState>,
    scope: Scope,
    Path(service): Path<String>,
    Query(window): Query<WindowParams>,
) -> Result<Json<OperationsView>, ApiError> {
    let window = window.resolve(state.query.limits())?;
    let operations = state
        .query
        .operations(&scope.project, &service, window)
        .await?;
    Ok(Json(OperationsView {
        service,
        operations,
    }))
}
