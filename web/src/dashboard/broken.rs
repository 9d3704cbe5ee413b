//! `/chains/broken`: lost messages and broken hand-offs published in the
//! range: producer, destination, message id, age, and links to the trace
//! and its chain.

use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use tracehouse_model::time::now_unix_nano;

/// Most hand-offs listed.
const LIMIT: u64 = 200;

/// One broken hand-off as the page shows it.
pub struct BrokenRow {
    pub reason: String,
    pub producer: String,
    pub operation: String,
    pub destination: String,
    pub message_id: String,
    pub published: String,
    pub age: String,
    pub failed_deliveries: u64,
    pub trace_href: String,
    pub chain_href: String,
}

#[derive(Template)]
#[template(path = "broken.html")]
struct BrokenPage {
    frame: Frame,
    rows: Vec<BrokenRow>,
    limit: u64,
}

/// `GET /chains/broken`.
pub async fn broken_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FrameParams>,
) -> Response {
    let frame = match page_frame(
        &state,
        &scope,
        &params,
        Section::BrokenChains,
        "/chains/broken",
    )
    .await
    {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let broken = match state
        .query
        .broken_chains(&frame.project, frame.window, now_unix_nano(), LIMIT)
        .await
    {
        Ok(broken) => broken.broken,
        Err(error) => return ErrorPage::from(error).into_page(frame),
    };
    let rows = broken
        .into_iter()
        .map(|handoff| BrokenRow {
            reason: handoff.reason.label().to_owned(),
            trace_href: frame.span_href(&handoff.trace_id, &handoff.span_id),
            chain_href: frame.href(&format!("/chains/{}", handoff.trace_id)),
            producer: handoff.service,
            operation: handoff.name,
            destination: handoff.destination,
            message_id: handoff.message_id,
            published: format::instant(handoff.publish_time_unix_nano),
            age: format::ms(Some(handoff.waited_ms)),
            failed_deliveries: handoff.failed_deliveries,
        })
        .collect();
    render(&BrokenPage {
        frame,
        rows,
        limit: LIMIT,
    })
}
