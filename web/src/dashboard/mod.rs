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

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    title: String,
    message: String,
}

fn message(status: StatusCode, title: &str, message: String) -> Response {
    let mut response = render(&MessagePage {
        title: title.to_owned(),
        message,
    });
    *response.status_mut() = status;
    response
}

/// A readable error page; small, so it travels cheaply in a `Result`.
pub(crate) struct ErrorPage {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        message(self.status, self.title, self.message)
    }
}

/// A trace id from a page's path, or a 400 page saying what is wrong with it.
pub(crate) fn trace_id_or_page(text: &str) -> Result<tracehouse_model::TraceId, ErrorPage> {
    text.parse()
        .map_err(|error: tracehouse_model::IdError| ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "Bad trace id",
            message: error.to_string(),
        })
}

/// Unknown paths: a JSON 404 under the APIs, an HTML page elsewhere.
pub async fn not_found_fallback(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let error = crate::ApiError::not_found(format!("path {path}"));
    if path.starts_with("/api/") || path.starts_with("/jaeger/") {
        return error.into_response();
    }
    error_page(error)
}

/// The page for a failed query, with the status and message the API would answer.
pub(crate) fn query_error_page(error: tracehouse_query::QueryError) -> Response {
    error_page(crate::ApiError::from(error))
}

/// A page for an error answered as [`crate::ApiError`] (bad parameters, failed queries).
pub(crate) fn error_page(error: crate::ApiError) -> Response {
    let title = match error.status() {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::SERVICE_UNAVAILABLE => "Storage unavailable",
        _ => "Error",
    };
    message(error.status(), title, error.message().to_owned())
}
