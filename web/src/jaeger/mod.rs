//! Jaeger's HTTP query API under `/jaeger/api`, so that Grafana's Jaeger
//! data source and the Jaeger UI can search and open Tracehouse traces.
//! Span links become `FOLLOWS_FROM` references.

pub mod model;
pub mod params;

use crate::access::Scope;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model::{jaeger_trace, Dependency, Envelope, EnvelopeError, JaegerTrace, Operation};
use std::collections::HashMap;
use tracehouse_model::time::now_unix_nano;
use tracehouse_model::TraceId;
use tracehouse_query::map::MapEdgeKind;
use tracehouse_query::{QueryError, QueryLimits, TimeWindow};

/// Routes of the Jaeger query API, to nest under `/jaeger/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(services))
        .route("/services/{service}/operations", get(service_operations))
        .route("/operations", get(operations))
        .route("/traces", get(find_traces))
        .route("/traces/{trace_id}", get(trace))
        .route("/dependencies", get(dependencies))
}

/// An error in Jaeger's envelope: `{"data": null, "errors": [{code, msg}]}`.
#[derive(Debug)]
pub struct JaegerError {
    status: StatusCode,
    message: String,
}

impl JaegerError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<QueryError> for JaegerError {
    fn from(error: QueryError) -> Self {
        let answered = crate::ApiError::from(error);
        Self {
            status: answered.status(),
            message: answered.message().to_owned(),
        }
    }
}

impl IntoResponse for JaegerError {
    fn into_response(self) -> Response {
        let body = Envelope {
            data: serde_json::Value::Null,
            total: 0,
            limit: 0,
            offset: 0,
            errors: Some(vec![EnvelopeError {
                code: self.status.as_u16(),
                msg: self.message,
            }]),
        };
        (self.status, Json(body)).into_response()
    }
}

type JaegerResult<T> = Result<Json<Envelope<T>>, JaegerError>;

/// Jaeger lists services and operations without a window: use the longest
/// window allowed (`max_query_window`, by default the retention).
fn listing_window(limits: &QueryLimits) -> TimeWindow {
    let now = now_unix_nano();
    let longest = u64::try_from(limits.max_window.as_nanos()).unwrap_or(u64::MAX);
    TimeWindow {
        start_unix_nano: now.saturating_sub(longest),
        end_unix_nano: now,
    }
}

async fn services(State(state): State<AppState>, scope: Scope) -> JaegerResult<Vec<String>> {
    let services = state
        .query
        .services(&scope.project, listing_window(state.query.limits()))
        .await?;
    let total = services.len();
    Ok(Json(Envelope::new(services, total)))
}

async fn service_operations(
    State(state): State<AppState>,
    scope: Scope,
    Path(service): Path<String>,
) -> JaegerResult<Vec<String>> {
    let mut names: Vec<String> = state
        .query
        .operations(
            &scope.project,
            &service,
            listing_window(state.query.limits()),
        )
        .await?
        .into_iter()
        .map(|operation| operation.name)
        .collect();
    names.dedup();
    let total = names.len();
    Ok(Json(Envelope::new(names, total)))
}

async fn operations(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<HashMap<String, String>>,
) -> JaegerResult<Vec<Operation>> {
    let service = params
        .get("service")
        .filter(|service| !service.is_empty())
        .ok_or_else(|| JaegerError::bad_request("parameter 'service' is required"))?;
    let wanted_kind = params.get("spanKind").map(String::as_str).unwrap_or("");
    let operations: Vec<Operation> = state
        .query
        .operations(
            &scope.project,
            service,
            listing_window(state.query.limits()),
        )
        .await?
        .into_iter()
        .filter(|operation| wanted_kind.is_empty() || operation.span_kind == wanted_kind)
        .map(|operation| Operation {
            name: operation.name,
            span_kind: operation.span_kind,
        })
        .collect();
    let total = operations.len();
    Ok(Json(Envelope::new(operations, total)))
}

async fn trace(
    State(state): State<AppState>,
    scope: Scope,
    Path(trace_id): Path<String>,
) -> JaegerResult<Vec<JaegerTrace>> {
    let trace_id: TraceId = trace_id
        .parse()
        .map_err(|error| JaegerError::bad_request(format!("trace_id: {error}")))?;
    let trace = state.query.trace(&scope.project, trace_id).await?;
    Ok(Json(Envelope::new(vec![jaeger_trace(trace)], 1)))
}

async fn find_traces(
    State(state): State<AppState>,
    scope: Scope,
    Query(raw): Query<Vec<(String, String)>>,
) -> JaegerResult<Vec<JaegerTrace>> {
    let search = params::trace_search(&raw, now_unix_nano(), state.query.limits())
        .map_err(JaegerError::bad_request)?;
    let window = search
        .window
        .ok_or_else(|| JaegerError::bad_request("start: no window"))?;
    let project = scope.project;
    let found = state.query.search_traces(&project, &search, window).await?;
    let trace_ids: Vec<TraceId> = found
        .traces
        .iter()
        .filter_map(|summary| summary.trace_id.parse().ok())
        .collect();
    let traces: Vec<JaegerTrace> = state
        .query
        .traces(&project, &trace_ids)
        .await?
        .into_iter()
        .map(jaeger_trace)
        .collect();
    let total = traces.len();
    Ok(Json(Envelope::new(traces, total)))
}

async fn dependencies(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<HashMap<String, String>>,
) -> JaegerResult<Vec<Dependency>> {
    let window = params::dependencies_window(&params, now_unix_nano(), state.query.limits())
        .map_err(JaegerError::bad_request)?;
    let dependencies: Vec<Dependency> = state
        .query
        .service_map(&scope.project, window)
        .await?
        .edges
        .into_iter()
        .filter(|edge| edge.kind == MapEdgeKind::Calls)
        .map(|edge| Dependency {
            parent: edge.source,
            child: edge.target,
            call_count: edge.request_count,
        })
        .collect();
    let total = dependencies.len();
    Ok(Json(Envelope::new(dependencies, total)))
}
