//! `/chains/{trace_id}`: the causal chain of a trace as a graph laid out
//! left to right in causal order, its root cause, critical path, hand-offs
//! and totals.

use super::chain_graph::{chain_graph, TraceNode};
use super::charts::Svg;
use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, parse_trace_id, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use tracehouse_model::TraceId;
use tracehouse_query::chains::ChainView;
use tracehouse_query::chains::PathStepKind;
use tracehouse_query::TraceView;

/// A step of the critical path as the page shows it.
pub struct StepRow {
    pub name: String,
    pub service: String,
    pub href: Option<String>,
    pub queue_wait: bool,
    pub cold_start: bool,
    pub self_ms: f64,
    /// Bar length on a 0–1000 scale.
    pub bar: f64,
}

#[derive(Template)]
#[template(path = "chain.html")]
struct ChainPage {
    frame: Frame,
    trace_id: String,
    chain: ChainView,
    graph: Svg,
    steps: Vec<StepRow>,
    cost: String,
    duration: String,
    root_cause_href: Option<String>,
}

fn steps(frame: &Frame, chain: &ChainView) -> Vec<StepRow> {
    let longest = chain
        .critical_path
        .iter()
        .map(|step| step.self_ms)
        .fold(0.0, f64::max);
    chain
        .critical_path
        .iter()
        .map(|step| StepRow {
            name: step.name.clone(),
            service: step.service.clone(),
            queue_wait: step.kind == PathStepKind::QueueWait,
            href: (step.kind != PathStepKind::QueueWait)
                .then(|| frame.span_href(&step.trace_id, &step.span_id)),
            cold_start: step.cold_start,
            self_ms: step.self_ms,
            bar: if longest > 0.0 {
                (step.self_ms / longest * 1000.0).max(2.0)
            } else {
                2.0
            },
        })
        .collect()
}

/// The traces of the chain, for the graph's nodes (at most the chain's bound).
async fn chain_traces(
    state: &AppState,
    frame: &Frame,
    chain: &ChainView,
) -> Result<Vec<TraceView>, ErrorPage> {
    let ids: Vec<TraceId> = chain
        .trace_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    Ok(state.query.traces(&frame.project, &ids).await?)
}

/// The chain page; a readable 400/404 page for bad or unknown ids.
pub async fn chain_page(
    State(state): State<AppState>,
    scope: Scope,
    Path(trace_id): Path<String>,
    Query(params): Query<FrameParams>,
) -> Response {
    let path = format!("/chains/{}", super::frame::encode(&trace_id));
    let frame = match page_frame(&state, &scope, &params, Section::BrokenChains, &path).await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let parsed = match parse_trace_id(&trace_id) {
        Ok(trace_id) => trace_id,
        Err(page) => return page.into_page(frame),
    };
    let chain = match state.query.chain(&frame.project, parsed).await {
        Ok(chain) => chain,
        Err(error) => return ErrorPage::from(error).into_page(frame),
    };
    let traces = match chain_traces(&state, &frame, &chain).await {
        Ok(traces) => traces,
        Err(page) => return page.into_page(frame),
    };
    let nodes: Vec<TraceNode> = traces.iter().map(TraceNode::of).collect();
    render(&ChainPage {
        graph: chain_graph(&frame, &chain, &nodes),
        steps: steps(&frame, &chain),
        cost: format::usd(chain.cost_usd),
        duration: format::ms(Some(chain.duration_ms)),
        root_cause_href: chain
            .root_cause
            .as_ref()
            .map(|cause| frame.span_href(&cause.trace_id, &cause.span_id)),
        trace_id: parsed.to_hex(),
        chain,
        frame,
    })
}
