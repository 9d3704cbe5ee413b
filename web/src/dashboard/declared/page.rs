//! `/dashboards`: the user dashboards, and `/dashboards/{name}`: one of them,
//! in the frame. A refused file answers 500 with its error (file, line,
//! field); a per-function dashboard reads `?function=`.

use super::render::{self, RowView};
use super::spec::{Dashboard, DashboardError};
use crate::access::Scope;
use crate::dashboard::frame::{encode, Frame, FrameParams, Section};
use crate::dashboard::{page_frame, render as render_page, ErrorPage};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

/// One entry of the index.
pub struct DashboardLink {
    pub name: String,
    pub href: String,
    /// The title, or the file's error.
    pub title: Result<String, String>,
}

#[derive(Template)]
#[template(path = "dashboards.html")]
struct IndexPage {
    frame: Frame,
    dashboards: Vec<DashboardLink>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    title: String,
    function: Option<String>,
    rows: Vec<RowView>,
}

/// The page's own parameter.
#[derive(Debug, Default, Deserialize)]
pub struct DashboardParams {
    pub function: Option<String>,
}

/// The page of a refused dashboard file: 500, naming file, line and field.
pub(crate) fn refused(error: &DashboardError) -> ErrorPage {
    ErrorPage {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        title: "Dashboard file refused",
        message: error.to_string(),
    }
}

/// `GET /dashboards`.
pub async fn index_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FrameParams>,
) -> Response {
    let frame = match page_frame(&state, &scope, &params, Section::Dashboards, "/dashboards").await
    {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let dashboards = state
        .dashboards
        .users()
        .map(|(name, declared)| DashboardLink {
            name: name.clone(),
            href: frame.href(&format!("/dashboards/{}", encode(name))),
            title: declared
                .as_ref()
                .map(|dashboard| dashboard.title.clone())
                .map_err(ToString::to_string),
        })
        .collect();
    render_page(&IndexPage { frame, dashboards })
}

/// `GET /dashboards/{name}`.
pub async fn dashboard_page(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    Query(params): Query<FrameParams>,
    Query(own): Query<DashboardParams>,
) -> Response {
    let path = format!("/dashboards/{}", encode(&name));
    let mut frame = match page_frame(&state, &scope, &params, Section::Dashboards, &path).await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let dashboard = match state.dashboards.user(&name) {
        Some(Ok(dashboard)) => dashboard,
        Some(Err(error)) => return refused(error).into_page(frame),
        None => {
            return ErrorPage {
                status: StatusCode::NOT_FOUND,
                title: "Dashboard not found",
                message: format!("No dashboard named \"{name}\"; the list is under Dashboards."),
            }
            .into_page(frame)
        }
    };
    let function = match (dashboard.per_function, own.function) {
        (true, None) => {
            return ErrorPage::bad_request("this dashboard shows one function: add ?function=NAME")
                .into_page(frame)
        }
        (true, Some(function)) => {
            frame.keep_params(&[("function", function.as_str())]);
            Some(function)
        }
        (false, _) => None,
    };
    draw_page(&state, frame, dashboard, function).await
}

async fn draw_page(
    state: &AppState,
    frame: Frame,
    dashboard: &Dashboard,
    function: Option<String>,
) -> Response {
    let reads = render::reads(&state.query, &frame);
    match render::draw(&reads, &frame, dashboard, function.as_deref()).await {
        Ok(rows) => render_page(&DashboardPage {
            title: dashboard.title.clone(),
            function,
            rows,
            frame,
        }),
        Err(error) => ErrorPage::from(error).into_page(frame),
    }
}
