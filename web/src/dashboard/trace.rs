//! `/traces/{trace_id}`: one trace as a waterfall with a time axis, service
//! colours, error and cold-start icons, a detail panel per span, the
//! traces it links to and that hand off to it, and its chain's invocations
//! and cost. Large traces render a bounded number of rows with "show more".

use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::waterfall::{extent, layout, services, WaterfallRow, SCALE};
use super::{page_frame, parse_trace_id, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeSet;
use tracehouse_model::StatusCode;
use tracehouse_query::chains::ChainView;

/// Rows rendered before "show more".
pub const DEFAULT_ROWS: usize = 500;
/// Most rows rendered at all.
pub const MAX_ROWS: usize = 20_000;

/// The page's parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraceParams {
    #[serde(flatten)]
    pub frame: FrameParams,
    pub rows: Option<String>,
}

/// A service of the legend with its colour class.
pub struct LegendEntry {
    pub name: String,
    pub index: usize,
}

/// A tick of the time axis.
pub struct Tick {
    pub x: f64,
    pub label: String,
    pub anchor: &'static str,
}

/// Another trace this one is connected to.
pub struct TraceLink {
    pub trace_id: String,
    pub href: String,
    pub how: String,
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    frame: Frame,
    trace_id: String,
    chain_href: String,
    span_count: usize,
    error_count: usize,
    cold_count: usize,
    duration: String,
    legend: Vec<LegendEntry>,
    ticks: Vec<Tick>,
    rows: Vec<WaterfallRow>,
    hidden_rows: usize,
    more_href: String,
    links_to: Vec<TraceLink>,
    linked_from: Vec<TraceLink>,
    chain_invocations: u64,
    chain_cold_starts: u64,
    chain_cost: String,
    chain_trace_count: usize,
    scale: f64,
}

fn ticks(length_ms: f64) -> Vec<Tick> {
    (0..=4)
        .map(|step| {
            let fraction = f64::from(step) / 4.0;
            Tick {
                x: fraction * SCALE,
                label: format::ms(Some(length_ms * fraction)),
                anchor: match step {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                },
            }
        })
        .collect()
}

fn connections(
    frame: &Frame,
    trace_id: &str,
    rows: &[WaterfallRow],
    chain: &ChainView,
) -> (Vec<TraceLink>, Vec<TraceLink>) {
    let linked: BTreeSet<&str> = rows
        .iter()
        .flat_map(|row| row.links.iter().map(|(trace, _)| trace.as_str()))
        .filter(|trace| *trace != trace_id)
        .collect();
    let links_to = linked
        .into_iter()
        .map(|trace| TraceLink {
            trace_id: trace.to_owned(),
            href: frame.trace_href(trace),
            how: "Links to".to_owned(),
        })
        .collect();
    let mut from: Vec<TraceLink> = Vec::new();
    for edge in &chain.edges {
        let (other, how) = if edge.to_trace_id == trace_id && edge.from_trace_id != trace_id {
            (
                &edge.from_trace_id,
                format!("hands off to this trace by {}", edge.kind),
            )
        } else if edge.from_trace_id == trace_id && edge.to_trace_id != trace_id {
            (
                &edge.to_trace_id,
                format!("receives from this trace by {}", edge.kind),
            )
        } else {
            continue;
        };
        if !from.iter().any(|link| link.trace_id == *other) {
            from.push(TraceLink {
                trace_id: other.clone(),
                href: frame.trace_href(other),
                how,
            });
        }
    }
    (links_to, from)
}

/// `GET /traces/{trace_id}?rows=`; a readable 400/404 page for bad or unknown ids.
pub async fn trace_page(
    State(state): State<AppState>,
    scope: Scope,
    Path(trace_id): Path<String>,
    Query(params): Query<TraceParams>,
) -> Response {
    let path = format!("/traces/{}", super::frame::encode(&trace_id));
    let frame = match page_frame(&state, &scope, &params.frame, Section::Traces, &path).await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let parsed = match parse_trace_id(&trace_id) {
        Ok(trace_id) => trace_id,
        Err(page) => return page.into_page(frame),
    };
    let (trace, chain) = tokio::join!(
        state.query.trace(&frame.project, parsed),
        state.query.chain(&frame.project, parsed),
    );
    let (trace, chain) = match (trace, chain) {
        (Ok(trace), Ok(chain)) => (trace, chain),
        (Err(error), _) | (_, Err(error)) => return ErrorPage::from(error).into_page(frame),
    };
    let limit = params
        .rows
        .as_deref()
        .and_then(|rows| rows.parse::<usize>().ok())
        .unwrap_or(DEFAULT_ROWS)
        .clamp(1, MAX_ROWS);
    let (start, end) = extent(&trace.spans);
    let length_ms = end.saturating_sub(start) as f64 / 1e6;
    let mut rows = layout(&trace.spans);
    let (links_to, linked_from) = connections(&frame, &trace.trace_id, &rows, &chain);
    let hidden_rows = rows.len().saturating_sub(limit);
    rows.truncate(limit);
    let more = (limit.saturating_mul(4)).min(MAX_ROWS).to_string();
    render(&TracePage {
        chain_href: frame.href(&format!("/chains/{}", trace.trace_id)),
        more_href: frame.href_with(&path, &[("rows", &more)]),
        span_count: trace.spans.len(),
        error_count: trace
            .spans
            .iter()
            .filter(|span| span.status_code == StatusCode::Error)
            .count(),
        cold_count: rows.iter().filter(|row| row.cold_start).count(),
        duration: format::ms(Some(length_ms)),
        legend: services(&trace.spans)
            .into_iter()
            .enumerate()
            .map(|(index, name)| LegendEntry { name, index })
            .collect(),
        ticks: ticks(length_ms),
        rows,
        hidden_rows,
        links_to,
        linked_from,
        chain_invocations: chain.invocation_count,
        chain_cold_starts: chain.cold_starts,
        chain_cost: format::usd(chain.cost_usd),
        chain_trace_count: chain.trace_ids.len(),
        trace_id: trace.trace_id,
        scale: SCALE,
        frame,
    })
}
