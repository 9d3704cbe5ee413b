//! The service and event map as SVG: services, functions and queues as
//! nodes in columns by call depth, edges labelled with rate, error rate and
//! p95, nodes shaded by a chosen figure (error rate or cost) that is also
//! written on the node, so colour is never the only signal.

use super::chain_graph::columns;
use super::charts::{escape, Svg};
use super::format;
use super::frame::Frame;
use std::collections::HashMap;
use tracehouse_query::map::ServiceMapView;

const NODE_WIDTH: f64 = 190.0;
const NODE_HEIGHT: f64 = 54.0;
const COLUMN_GAP: f64 = 200.0;
const ROW_GAP: f64 = 34.0;
const MARGIN: f64 = 16.0;

/// The figure nodes are shaded by, per node id, with its text.
pub struct Shading {
    pub values: HashMap<String, f64>,
    pub describe: fn(f64) -> String,
}

fn heat(value: f64, max: f64) -> usize {
    if max <= 0.0 || value <= 0.0 {
        return 0;
    }
    ((value / max * 4.0).ceil() as usize).clamp(1, 4)
}

/// The map of a window; `requests_per_second` turns counts into rates.
pub fn map_graph(
    frame: &Frame,
    map: &ServiceMapView,
    shading: &Shading,
    window_seconds: f64,
) -> Svg {
    let order: Vec<String> = map.nodes.iter().map(|node| node.id.clone()).collect();
    let edges: Vec<(String, String)> = map
        .edges
        .iter()
        .filter(|edge| edge.source != edge.target)
        .map(|edge| (edge.source.clone(), edge.target.clone()))
        .collect();
    let column = columns(&order, &edges);
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let mut position: HashMap<&str, (f64, f64)> = HashMap::new();
    for id in &order {
        let col = column.get(id).copied().unwrap_or(0);
        let row = rows.entry(col).or_default();
        position.insert(
            id.as_str(),
            (
                MARGIN + col as f64 * (NODE_WIDTH + COLUMN_GAP),
                MARGIN + *row as f64 * (NODE_HEIGHT + ROW_GAP),
            ),
        );
        *row += 1;
    }
    let columns_count = column.values().max().map_or(1, |max| max + 1);
    let rows_count = rows.values().max().copied().unwrap_or(1).max(1);
    let width = MARGIN * 2.0 + columns_count as f64 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP;
    let height = MARGIN * 2.0 + rows_count as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP;
    let mut body = String::from(
        "<defs><marker id=\"map-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"arrow\" d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>",
    );
    for edge in &map.edges {
        let (Some((x1, y1)), Some((x2, y2))) = (
            position.get(edge.source.as_str()),
            position.get(edge.target.as_str()),
        ) else {
            continue;
        };
        let (x1, y1, x2, y2) = (
            x1 + NODE_WIDTH,
            y1 + NODE_HEIGHT / 2.0,
            *x2,
            y2 + NODE_HEIGHT / 2.0,
        );
        let label = format!(
            "{:.2}/s · {} err · p95 {}",
            edge.request_count as f64 / window_seconds.max(1.0),
            format::percent(edge.error_rate),
            format::ms(Some(edge.p95_ms))
        );
        let title = format!(
            "{} {} {}: {} requests, {label}",
            edge.source, edge.kind, edge.target, edge.request_count
        );
        body.push_str(&format!(
            "<path class=\"edge{}\" d=\"M{x1},{y1} C{cx},{y1} {cx},{y2} {x2},{y2}\" marker-end=\"url(#map-arrow)\"><title>{}</title></path>\
             <text x=\"{cx}\" y=\"{my}\" text-anchor=\"middle\">{}</text>",
            if edge.error_count > 0 { " errors" } else { "" },
            escape(&title),
            escape(&label),
            cx = (x1 + x2) / 2.0,
            my = (y1 + y2) / 2.0 - 6.0,
        ));
    }
    let max = shading.values.values().copied().fold(0.0, f64::max);
    for node in &map.nodes {
        let Some((x, y)) = position.get(node.id.as_str()) else {
            continue;
        };
        let value = shading.values.get(&node.id).copied();
        let figure = value.map_or_else(|| "–".to_owned(), shading.describe);
        let href = if node.kind == "service" {
            frame.href_with("/traces", &[("service", &node.id)])
        } else {
            frame.href("/chains/broken")
        };
        body.push_str(&format!(
            "<a href=\"{href}\"><g class=\"node map-node {kind}\" transform=\"translate({x},{y})\"><title>{title}</title>\
             <rect class=\"heat-{heat}\" width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"{rx}\"/>\
             <text class=\"name\" x=\"10\" y=\"21\">{name}</text><text x=\"10\" y=\"40\">{kind_label} · {figure}</text></g></a>",
            href = escape(&href),
            kind = if node.kind == "service" { "service" } else { "queue" },
            title = escape(&format!("{} ({}): {figure}", node.id, node.kind)),
            heat = heat(value.unwrap_or(0.0), max),
            rx = if node.kind == "service" { 6 } else { 20 },
            name = escape(&node.id.chars().take(24).collect::<String>()),
            kind_label = if node.kind == "service" { "service" } else { "queue" },
            figure = escape(&figure),
        ));
    }
    let summary = format!("{} nodes and {} edges", map.nodes.len(), map.edges.len());
    Svg(format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Service map\"><title>Service map</title><desc>{}</desc>{body}</svg>",
        escape(&summary)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shading_steps_relative_to_the_largest() {
        assert_eq!(heat(0.0, 10.0), 0);
        assert_eq!(heat(1.0, 10.0), 1);
        assert_eq!(heat(10.0, 10.0), 4);
        assert_eq!(heat(5.0, 0.0), 0);
    }
}
