//! `GET /api/v1/functions`, `GET /api/v1/functions/{function}/timeseries`
//! and `GET /api/v1/coldstarts`.

use super::step::parse_step;
use super::window::WindowParams;
use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tracehouse_query::serverless::{ColdStarts, FunctionList, FunctionTimeseries};

/// Parameters of every function endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub step: Option<String>,
    pub function: Option<String>,
}

impl FunctionParams {
    fn window(&self) -> WindowParams {
        WindowParams {
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

const NANOS_PER_MILLI: u64 = 1_000_000;

/// A response with the resolved window (Unix ms).
#[derive(Debug, Serialize)]
pub struct Windowed<T: Serialize> {
    pub from: u64,
    pub to: u64,
    #[serde(flatten)]
    pub body: T,
}

/// Every function with invocations in the window.
pub async fn list_functions(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FunctionParams>,
) -> Result<Json<Windowed<FunctionList>>, ApiError> {
    let range = params.window().resolve(state.query.limits())?;
    let list = state.query.functions(&scope.project, &range).await?;
    Ok(Json(Windowed {
        from: range.start_unix_nano / NANOS_PER_MILLI,
        to: range.end_unix_nano / NANOS_PER_MILLI,
        body: list,
    }))
}

/// One function per time bucket; 404 when it has no invocations in the window.
pub async fn function_timeseries(
    State(state): State<AppState>,
    scope: Scope,
    Path(function): Path<String>,
    Query(params): Query<FunctionParams>,
) -> Result<Json<Windowed<FunctionTimeseries>>, ApiError> {
    let range = params.window().resolve(state.query.limits())?;
    let step = parse_step(params.step.as_deref(), &range)?;
    let series = state
        .query
        .function_timeseries(&scope.project, &function, &range, step)
        .await?;
    Ok(Json(Windowed {
        from: range.start_unix_nano / NANOS_PER_MILLI,
        to: range.end_unix_nano / NANOS_PER_MILLI,
        body: series,
    }))
}

/// Cold starts of `?function=`; 400 without it, 404 for an unknown function.
pub async fn cold_starts(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FunctionParams>,
) -> Result<Json<Windowed<ColdStarts>>, ApiError> {
    let range = params.window().resolve(state.query.limits())?;
    let function = params
        .function
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ApiError::bad_request("function: required"))?;
    let cold_starts = state
        .query
        .cold_starts(&scope.project, function, &range)
        .await?;
    Ok(Json(Windowed {
        from: range.start_unix_nano / NANOS_PER_MILLI,
        to: range.end_unix_nano / NANOS_PER_MILLI,
        body: cold_starts,
    }))
}
