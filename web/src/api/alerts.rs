//! The alerts API under `/api/v1/alerts` and the `/alerts` page. History,
//! deliveries and silences are read from ClickHouse, so any process can
//! answer; rule states and reloads need the process that runs the alerts
//! role (others answer 409 for a reload and list stored states only).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracehouse_alerting::ids::{now_unix_nano, rfc3339};
use tracehouse_alerting::silence::{self, Silence};
use tracehouse_alerting::store::{StoreError, DEFAULT_LIST_LIMIT};
use tracehouse_alerting::{Alerts, Store};

/// What the alerts handlers share.
#[derive(Clone)]
pub struct AlertsState {
    /// Alert state in ClickHouse, for the process's project.
    pub store: Store,
    /// The running alerts role, when this process runs it.
    pub engine: Option<Alerts>,
    /// What every page shares (the frame's projects come from it).
    pub app: crate::AppState,
}

impl AlertsState {
    /// The engine while it evaluates (it holds the alerts lease). A standby
    /// answers from the stored states, as a process without the role does.
    pub fn evaluator(&self) -> Option<&Alerts> {
        self.engine.as_ref().filter(|engine| engine.is_leading())
    }
}

/// The alerts API and page.
pub fn router(state: AlertsState) -> Router {
    // The store's project is a valid name: it was made from a ProjectId.
    let project = tracehouse_model::ProjectId::new(state.store.project()).unwrap_or_default();
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/history", get(history))
        .route("/api/v1/alerts/deliveries", get(deliveries))
        .route(
            "/api/v1/alerts/silences",
            get(list_silences).post(create_silence),
        )
        .route("/api/v1/alerts/reload", post(reload))
        .route("/alerts", get(crate::dashboard::alerts::alerts_page))
        .with_state(state)
        .route_layer(axum::middleware::from_fn_with_state(
            project,
            require_alerts_project,
        ))
}

/// Alert state belongs to one project: callers not granted it see nothing (404).
async fn require_alerts_project(
    State(project): State<tracehouse_model::ProjectId>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let allowed = request
        .extensions()
        .get::<crate::access::Scope>()
        .is_some_and(|scope| scope.caller.allows(&project));
    if allowed {
        next.run(request).await
    } else {
        crate::ApiError::not_found("path").into_response()
    }
}

/// `?rule=&limit=` of the listings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    pub rule: Option<String>,
    pub limit: Option<u64>,
}

impl ListParams {
    fn rule(&self) -> &str {
        self.rule.as_deref().unwrap_or("")
    }

    fn limit(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_LIST_LIMIT)
    }
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

pub(crate) fn unavailable(cause: StoreError) -> Response {
    tracing::error!(error = %cause, "alert storage failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage is unavailable, retry later",
    )
}

/// A history row as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub time: String,
    #[serde(flatten)]
    pub row: tracehouse_alerting::store::EventRow,
}

/// A delivery attempt as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryEntry {
    pub time: String,
    #[serde(flatten)]
    pub row: tracehouse_alerting::store::AttemptRow,
}

/// `GET /api/v1/alerts`: rules with state, last value and last evaluation.
pub async fn list_alerts(State(state): State<AlertsState>) -> Response {
    if let Some(engine) = state.evaluator() {
        let snapshot = engine.snapshot();
        return Json(json!({ "evaluator": true, "snapshot": snapshot })).into_response();
    }
    match state.store.group_states().await {
        Ok(groups) => Json(json!({ "evaluator": false, "groups": groups })).into_response(),
        Err(cause) => unavailable(cause),
    }
}

/// `GET /api/v1/alerts/history`: transitions and notifications, newest first.
pub async fn history(
    State(state): State<AlertsState>,
    Query(params): Query<ListParams>,
) -> Response {
    match state.store.history(params.rule(), params.limit()).await {
        Ok(rows) => {
            let history: Vec<HistoryEntry> = rows
                .into_iter()
                .map(|row| HistoryEntry {
                    time: rfc3339(row.time_unix_nano),
                    row,
                })
                .collect();
            Json(json!({ "history": history })).into_response()
        }
        Err(cause) => unavailable(cause),
    }
}

/// `GET /api/v1/alerts/deliveries`: every delivery attempt, newest first.
pub async fn deliveries(
    State(state): State<AlertsState>,
    Query(params): Query<ListParams>,
) -> Response {
    match state.store.deliveries(params.rule(), params.limit()).await {
        Ok(rows) => {
            let deliveries: Vec<DeliveryEntry> = rows
                .into_iter()
                .map(|row| DeliveryEntry {
                    time: rfc3339(row.time_unix_nano),
                    row,
                })
                .collect();
            Json(json!({ "deliveries": deliveries })).into_response()
        }
        Err(cause) => unavailable(cause),
    }
}

/// `GET /api/v1/alerts/silences`: silences active now or still to come.
pub async fn list_silences(State(state): State<AlertsState>) -> Response {
    match state.store.silences(now_unix_nano()).await {
        Ok(rows) => {
            let silences: Vec<Silence> = rows.iter().map(silence::from_row).collect();
            Json(json!({ "silences": silences })).into_response()
        }
        Err(cause) => unavailable(cause),
    }
}

/// `POST /api/v1/alerts/silences`: `{"rule", "function", "labels", "starts_at", "ends_at", "comment"}`.
pub async fn create_silence(State(state): State<AlertsState>, body: Bytes) -> Response {
    let parsed: Silence = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(cause) => return error(StatusCode::BAD_REQUEST, format!("body: {cause}")),
    };
    let row = match silence::to_row(&parsed, state.store.project(), now_unix_nano()) {
        Ok(row) => row,
        Err(cause) => return error(StatusCode::BAD_REQUEST, cause.0),
    };
    match state.store.insert_silence(&row).await {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({ "silence": silence::from_row(&row) })),
        )
            .into_response(),
        Err(cause) => unavailable(cause),
    }
}

/// `POST /api/v1/alerts/reload`: re-reads the rules from the config file.
pub async fn reload(State(state): State<AlertsState>) -> Response {
    let Some(engine) = &state.engine else {
        return error(
            StatusCode::CONFLICT,
            "this process does not run the alerts role",
        );
    };
    match engine.reload() {
        Ok(problems) => {
            let rules = engine.rule_count();
            Json(json!({ "rules": rules, "problems": problems })).into_response()
        }
        Err(cause) => error(StatusCode::BAD_REQUEST, cause.0),
    }
}
