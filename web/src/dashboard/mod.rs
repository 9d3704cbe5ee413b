//! Server-rendered pages.

pub mod chain;
pub mod functions;
pub mod trace;
pub mod waterfall;

use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Renders a template, or a plain 500 that is logged.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    otlp_grpc: String,
    otlp_http: String,
    ready: bool,
    schema_version: u32,
}

/// The home page: where to send telemetry and whether storage is ready.
pub async fn home(State(state): State<AppState>) -> Response {
    let readiness = state.query.readiness().await;
    render(&HomePage {
        otlp_grpc: state.endpoints.otlp_grpc.clone(),
        otlp_http: state.endpoints.otlp_http.clone(),
        ready: readiness.ready,
        schema_version: readiness.schema_version,
    })
}
