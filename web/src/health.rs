//! `/healthz`, `/readyz` and `/metrics`.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehouse_collector::supervise::WriterState;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// What `/readyz` answers: storage, schema and every writer task.
#[derive(Debug, serde::Serialize)]
struct ReadyView {
    #[serde(flatten)]
    storage: tracehouse_query::Readiness,
    writers: Vec<WriterState>,
}

/// ClickHouse is reachable, the schema migrated and every writer task runs:
/// 200, else 503. Each writer's state (restarts after panics) is listed.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut storage = state.query.readiness().await;
    let writers = state.writers.snapshot();
    storage.ready = storage.ready && writers.iter().all(|writer| writer.running);
    let status = if storage.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(ReadyView { storage, writers })).into_response()
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
