//! Server-rendered pages. Every page shares one frame (navigation, time
//! range, project), renders its charts as inline SVG, reads with
//! JavaScript off, and answers errors with a page: 400 for bad parameters,
//! 404 for unknown things, 503 when ClickHouse does not answer.

pub mod alerts;
pub mod assets;
pub mod broken;
pub mod chain;
pub mod chain_graph;
pub mod charts;
pub mod declared;
pub mod format;
pub mod frame;
pub mod function;
pub mod functions;
pub mod map;
pub mod map_graph;
pub mod overview;
pub mod search;
pub mod trace;
pub mod waterfall;

use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use frame::{Frame, FrameParams, Section};

/// The dashboard's routes (pages and their assets).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview_page))
        .route("/functions", get(functions::functions_page))
        .route("/functions/{name}", get(function::function_page))
        .route("/traces", get(search::search_page))
        .route("/traces/{trace_id}", get(trace::trace_page))
        .route("/chains/broken", get(broken::broken_page))
        .route("/chains/{trace_id}", get(chain::chain_page))
        .route("/map", get(map::map_page))
        .route("/dashboards", get(declared::page::index_page))
        .route("/dashboards/{name}", get(declared::page::dashboard_page))
        .route("/static/{name}", get(assets::asset))
}

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
#[template(path = "message.html")]
struct MessagePage {
    frame: Frame,
    title: String,
    message: String,
}

/// A readable error page in the frame.
#[derive(Debug)]
pub(crate) struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl ErrorPage {
    /// 400 naming what is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            message: message.into(),
        }
    }

    /// The page, in `frame`.
    pub fn into_page(self, frame: Frame) -> Response {
        let mut response = render(&MessagePage {
            frame,
            title: self.title.to_owned(),
            message: self.message,
        });
        *response.status_mut() = self.status;
        response
    }
}

impl From<tracehouse_query::QueryError> for ErrorPage {
    /// The status and message of the API's one mapping ([`crate::ApiError`]),
    /// with a page's title and, when storage is down, what that means.
    fn from(error: tracehouse_query::QueryError) -> Self {
        let limited = error.storage_limit().is_some();
        let error = crate::ApiError::from(error);
        let status = error.status();
        let (title, message) = match status {
            _ if limited => ("Query stopped", error.message().to_owned()),
            StatusCode::NOT_FOUND => ("Not found", format!("{} in this project", error.message())),
            StatusCode::BAD_REQUEST => ("Bad request", error.message().to_owned()),
            StatusCode::SERVICE_UNAVAILABLE => (
                "Storage unavailable",
                "ClickHouse is not answering, so this page cannot show data right now. \
                 Tracehouse keeps accepting telemetry while it can; retry in a moment."
                    .to_owned(),
            ),
            _ => ("Error", error.message().to_owned()),
        };
        Self {
            status,
            title,
            message,
        }
    }
}

/// The frame of a page at `path`, with the projects of its range; a 400 or
/// 503 page when its parameters are bad or storage is down.
pub(crate) async fn page_frame(
    state: &AppState,
    scope: &crate::access::Scope,
    params: &FrameParams,
    section: Section,
    path: &str,
) -> Result<Frame, Response> {
    let mut frame =
        Frame::resolve(params, section, path, state.query.limits()).map_err(|error| {
            ErrorPage::bad_request(error.0).into_page(Frame::fallback(section, path))
        })?;
    // The scope's project is the one granted for `?project=` (checked
    // before the handler ran), and the selector offers granted projects only.
    frame.project = scope.project.clone();
    frame.signed_in = scope.signed_in.clone();
    match state.query.projects(&frame.window).await {
        Ok(projects) => frame.offer_projects(
            projects
                .into_iter()
                .filter(|name| {
                    tracehouse_model::ProjectId::new(name)
                        .is_ok_and(|project| scope.caller.allows(&project))
                })
                .collect(),
        ),
        Err(error) => return Err(ErrorPage::from(error).into_page(frame)),
    }
    Ok(frame)
}

/// A trace id from a page's path, or a 400 page saying what is wrong with it.
pub(crate) fn parse_trace_id(text: &str) -> Result<tracehouse_model::TraceId, ErrorPage> {
    text.parse()
        .map_err(|error: tracehouse_model::IdError| ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "Bad trace id",
            message: error.to_string(),
        })
}

/// Unknown paths: a JSON 404 under the APIs, a page in the frame elsewhere.
pub async fn not_found_fallback(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let error = crate::ApiError::not_found(format!("path {path}"));
    if path.starts_with("/api/") || path.starts_with("/jaeger/") {
        return axum::response::IntoResponse::into_response(error);
    }
    let page = ErrorPage {
        status: StatusCode::NOT_FOUND,
        title: "Not found",
        message: error.message().to_owned(),
    };
    page.into_page(Frame::fallback(Section::None, "/"))
}
