//! `/map`: services, functions and queues of the range as a graph, shaded
//! by error rate or cost (`?color=`), with the edges also listed as a table.

use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::map_graph::{map_graph, Shading};
use super::{charts::Svg, page_frame, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;
use tracehouse_query::map::{MapEdgeView, ServiceMapView};
use tracehouse_query::serverless::FunctionList;

/// The page's parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MapParams {
    #[serde(flatten)]
    pub frame: FrameParams,
    /// `error_rate` (default) or `cost`.
    pub color: Option<String>,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    frame: Frame,
    by_cost: bool,
    graph: Svg,
    edges: Vec<MapEdgeView>,
    empty: bool,
}

/// Error rate of each node: its functions' invocations, else the calls into it.
fn error_rates(map: &ServiceMapView, list: &FunctionList) -> HashMap<String, f64> {
    let mut by_service: HashMap<String, (u64, u64)> = HashMap::new();
    for function in &list.functions {
        let entry = by_service.entry(function.service.clone()).or_default();
        entry.0 += function.errors;
        entry.1 += function.invocations;
    }
    let mut rates = incoming_error_rates(map);
    for (service, (errors, invocations)) in by_service {
        if invocations > 0 {
            rates.insert(service, errors as f64 / invocations as f64);
        }
    }
    rates
}

/// Error rate of the calls into each node.
fn incoming_error_rates(map: &ServiceMapView) -> HashMap<String, f64> {
    let mut totals: HashMap<String, (u64, u64)> = HashMap::new();
    for edge in &map.edges {
        let entry = totals.entry(edge.target.clone()).or_default();
        entry.0 += edge.error_count;
        entry.1 += edge.request_count;
    }
    totals
        .into_iter()
        .map(|(node, (errors, requests))| {
            (
                node,
                if requests == 0 {
                    0.0
                } else {
                    errors as f64 / requests as f64
                },
            )
        })
        .collect()
}

/// Cost of each service: its functions' costs.
fn costs(list: &FunctionList) -> HashMap<String, f64> {
    let mut costs: HashMap<String, f64> = HashMap::new();
    for function in &list.functions {
        if let Some(usd) = function.cost_usd {
            *costs.entry(function.service.clone()).or_default() += usd;
        }
    }
    costs
}

/// `GET /map?color=error_rate|cost`.
pub async fn map_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<MapParams>,
) -> Response {
    let mut frame = match page_frame(&state, &scope, &params.frame, Section::Map, "/map").await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let by_cost = params.color.as_deref() == Some("cost");
    frame.keep_params(&[("color", if by_cost { "cost" } else { "error_rate" })]);
    let (map, list) = tokio::join!(
        state.query.service_map(&frame.project, frame.window),
        state.query.functions(&frame.project, &frame.window),
    );
    let (map, list) = match (map, list) {
        (Ok(map), Ok(list)) => (map, list),
        (Err(error), _) | (_, Err(error)) => return ErrorPage::from(error).into_page(frame),
    };
    let shading = if by_cost {
        Shading {
            values: costs(&list),
            describe: |usd| format::usd(Some(usd)),
        }
    } else {
        Shading {
            values: error_rates(&map, &list),
            describe: |rate| format!("{} errors", format::percent(rate)),
        }
    };
    let seconds = frame
        .window
        .end_unix_nano
        .saturating_sub(frame.window.start_unix_nano) as f64
        / 1e9;
    render(&MapPage {
        graph: map_graph(&frame, &map, &shading, seconds),
        empty: map.nodes.is_empty(),
        edges: map.edges,
        by_cost,
        frame,
    })
}
