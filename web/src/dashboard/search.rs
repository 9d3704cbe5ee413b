//! `/traces`: trace search (service, function, operation, status, duration
//! bounds, one attribute `key=value`) over the frame's range, newest first,
//! paged with a cursor. `?id=` jumps to a trace (the frame's trace-id box).

use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, parse_trace_id, render, ErrorPage};
use crate::access::Scope;
use crate::api::search::parse_search;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use tracehouse_model::time::now_unix_nano;

/// The form's fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchParams {
    #[serde(flatten)]
    pub frame: FrameParams,
    pub id: Option<String>,
    pub service: Option<String>,
    pub function: Option<String>,
    pub operation: Option<String>,
    pub status: Option<String>,
    pub min_ms: Option<String>,
    pub max_ms: Option<String>,
    /// `key=value`.
    pub attribute: Option<String>,
    pub cursor: Option<String>,
}

impl SearchParams {
    fn field(value: &Option<String>) -> &str {
        value.as_deref().map_or("", str::trim)
    }

    /// The form's fields as page parameters (kept by range and project links).
    fn kept(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("service", Self::field(&self.service)),
            ("function", Self::field(&self.function)),
            ("operation", Self::field(&self.operation)),
            ("status", Self::field(&self.status)),
            ("min_ms", Self::field(&self.min_ms)),
            ("max_ms", Self::field(&self.max_ms)),
            ("attribute", Self::field(&self.attribute)),
        ]
    }

    /// The query API's parameters for this search, in the frame's range.
    fn api_pairs(&self, frame: &Frame) -> Result<Vec<(String, String)>, ErrorPage> {
        let mut pairs = vec![
            ("from".to_owned(), frame.from.clone()),
            ("to".to_owned(), frame.to.clone()),
        ];
        let mut push = |name: &str, value: &str| {
            if !value.is_empty() {
                pairs.push((name.to_owned(), value.to_owned()));
            }
        };
        push("service", Self::field(&self.service));
        push("function", Self::field(&self.function));
        push("name", Self::field(&self.operation));
        push("status", Self::field(&self.status));
        push("min_duration_ms", Self::field(&self.min_ms));
        push("max_duration_ms", Self::field(&self.max_ms));
        push("cursor", Self::field(&self.cursor));
        let attribute = Self::field(&self.attribute);
        if !attribute.is_empty() {
            let (key, value) = attribute
                .split_once('=')
                .filter(|(key, _)| !key.trim().is_empty())
                .ok_or_else(|| ErrorPage::bad_request("attribute: expected key=value"))?;
            pairs.push((format!("attr.{}", key.trim()), value.trim().to_owned()));
        }
        Ok(pairs)
    }
}

/// One result row.
pub struct ResultRow {
    pub href: String,
    pub started: String,
    pub root: String,
    pub operation: String,
    pub duration: String,
    pub span_count: u64,
    pub errors: u64,
    pub cold_start: bool,
    /// Function invocations in the trace.
    pub invocations: u64,
    pub cost: String,
    pub services: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    frame: Frame,
    service: String,
    function: String,
    operation: String,
    errors_only: bool,
    min_ms: String,
    max_ms: String,
    attribute: String,
    services: Vec<String>,
    results: Vec<ResultRow>,
    next_href: Option<String>,
    first_href: Option<String>,
}

/// `GET /traces?service=&function=&operation=&status=&min_ms=&max_ms=&attribute=&cursor=`, or `?id=` to jump.
pub async fn search_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<SearchParams>,
) -> Response {
    let mut frame =
        match page_frame(&state, &scope, &params.frame, Section::Traces, "/traces").await {
            Ok(frame) => frame,
            Err(page) => return page,
        };
    if let Some(id) = params
        .id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        return match parse_trace_id(&id.to_ascii_lowercase()) {
            Ok(trace_id) => Redirect::to(&frame.trace_href(&trace_id.to_hex())).into_response(),
            Err(page) => page.into_page(frame),
        };
    }
    frame.keep_params(&params.kept());
    match results(&state, &frame, &params).await {
        Ok(page) => render(&page),
        Err(page) => page.into_page(frame),
    }
}

async fn results(
    state: &AppState,
    frame: &Frame,
    params: &SearchParams,
) -> Result<SearchPage, ErrorPage> {
    let search = parse_search(
        &params.api_pairs(frame)?,
        now_unix_nano(),
        state.query.limits(),
    )
    .map_err(|error| ErrorPage::bad_request(error.message()))?;
    let (found, services) = tokio::join!(
        state
            .query
            .search_traces(&frame.project, &search, frame.window),
        state.query.services(&frame.project, frame.window),
    );
    let found = found?;
    let ids: Vec<String> = found
        .traces
        .iter()
        .map(|trace| trace.trace_id.clone())
        .collect();
    let costs = match found.invocation_window(&frame.window) {
        Some(window) => {
            state
                .query
                .trace_costs(&frame.project, ids, &window)
                .await?
        }
        None => BTreeMap::new(),
    };
    let mut kept = params.kept();
    let next_href = found.next_cursor.as_deref().map(|cursor| {
        kept.push(("cursor", cursor));
        frame.href_with("/traces", &kept)
    });
    let first_href = params
        .cursor
        .as_ref()
        .map(|_| frame.href_with("/traces", &params.kept()));
    Ok(SearchPage {
        frame: frame.clone(),
        service: SearchParams::field(&params.service).to_owned(),
        function: SearchParams::field(&params.function).to_owned(),
        operation: SearchParams::field(&params.operation).to_owned(),
        errors_only: SearchParams::field(&params.status) == "error",
        min_ms: SearchParams::field(&params.min_ms).to_owned(),
        max_ms: SearchParams::field(&params.max_ms).to_owned(),
        attribute: SearchParams::field(&params.attribute).to_owned(),
        services: services?,
        results: found
            .traces
            .into_iter()
            .map(|trace| ResultRow {
                href: frame.trace_href(&trace.trace_id),
                started: format::instant(trace.start_time_unix_nano),
                root: trace.root_service,
                operation: trace.root_name,
                duration: format::ms(Some(trace.duration_ms)),
                span_count: trace.span_count,
                errors: trace.error_count,
                cold_start: costs
                    .get(&trace.trace_id)
                    .is_some_and(|cost| cost.cold_starts > 0),
                invocations: costs
                    .get(&trace.trace_id)
                    .map_or(0, |cost| cost.invocations),
                cost: costs
                    .get(&trace.trace_id)
                    .map_or_else(|| "–".to_owned(), |cost| format::usd(cost.usd().ok())),
                services: trace.services.join(", "),
            })
            .collect(),
        next_href,
        first_href,
    })
}
