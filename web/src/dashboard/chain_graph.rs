//! The chain as an SVG graph: one node per trace, laid out left to right
//! by causal depth (the longest run of hand-offs leading to it), edges
//! labelled with the time the hand-off waited. Critical path and root
//! cause are outlined, errors and cold starts marked by icon and colour.

use super::charts::{escape, Svg};
use super::format;
use super::frame::Frame;
use super::waterfall::{extent, is_cold_start};
use std::collections::HashMap;
use tracehouse_query::chains::ChainView;
use tracehouse_query::TraceView;

const NODE_WIDTH: f64 = 210.0;
const NODE_HEIGHT: f64 = 84.0;
const COLUMN_GAP: f64 = 170.0;
const ROW_GAP: f64 = 28.0;
const MARGIN: f64 = 16.0;

/// What a node shows about one trace.
#[derive(Debug, Clone)]
pub struct TraceNode {
    pub trace_id: String,
    /// The function (or service) of its root span.
    pub function: String,
    pub operation: String,
    pub duration_ms: f64,
    pub span_count: usize,
    pub errors: usize,
    pub cold_start: bool,
    /// Span id to (start, end), for the waits of hand-offs.
    pub spans: HashMap<String, (u64, u64)>,
}

impl TraceNode {
    /// The node of a trace.
    pub fn of(trace: &TraceView) -> Self {
        let (start, end) = extent(&trace.spans);
        let ids: std::collections::HashSet<&str> = trace
            .spans
            .iter()
            .map(|span| span.span_id.as_str())
            .collect();
        let root = trace
            .spans
            .iter()
            .find(|span| !ids.contains(span.parent_span_id.as_str()))
            .or(trace.spans.first());
        let function = root
            .map(|span| {
                span.resource
                    .get("faas.name")
                    .and_then(|name| name.as_str())
                    .unwrap_or(&span.service)
                    .to_owned()
            })
            .unwrap_or_default();
        Self {
            trace_id: trace.trace_id.clone(),
            function,
            operation: root.map(|span| span.name.clone()).unwrap_or_default(),
            duration_ms: end.saturating_sub(start) as f64 / 1e6,
            span_count: trace.spans.len(),
            errors: trace
                .spans
                .iter()
                .filter(|span| span.status_code == "error")
                .count(),
            cold_start: trace.spans.iter().any(is_cold_start),
            spans: trace
                .spans
                .iter()
                .map(|span| {
                    (
                        span.span_id.clone(),
                        (span.start_time_unix_nano, span.end_time_unix_nano),
                    )
                })
                .collect(),
        }
    }
}

/// Column of each trace: 0 for traces nothing hands off to, else one more
/// than the deepest trace handing off to it (bounded, so cycles end).
pub fn columns(order: &[String], edges: &[(String, String)]) -> HashMap<String, usize> {
    let mut column: HashMap<String, usize> = order.iter().map(|id| (id.clone(), 0)).collect();
    for _ in 0..order.len() {
        let mut changed = false;
        for (from, to) in edges {
            let Some(next) = column.get(from).map(|depth| depth + 1) else {
                continue;
            };
            if let Some(depth) = column.get_mut(to) {
                if *depth < next && next < order.len() {
                    *depth = next;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    column
}

fn shorten(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(most.saturating_sub(1)).collect();
    short.push('…');
    short
}

struct Placed<'a> {
    node: &'a TraceNode,
    x: f64,
    y: f64,
}

fn node_markup(frame: &Frame, placed: &Placed<'_>, critical: bool, root_cause: bool) -> String {
    let node = placed.node;
    let mut classes = String::from("node");
    for (on, class) in [
        (critical, " critical"),
        (node.errors > 0, " error"),
        (root_cause, " root-cause"),
    ] {
        if on {
            classes.push_str(class);
        }
    }
    let marks = [
        (root_cause, "error-mark", "root cause".to_owned()),
        (
            node.errors > 0,
            "error-mark",
            format!("✖ {} errors", node.errors),
        ),
        (node.cold_start, "cold-mark", "❄ cold start".to_owned()),
    ];
    let mark_text: Vec<String> = marks
        .iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, class, text)| format!("<tspan class=\"{class}\">{}</tspan>", escape(text)))
        .collect();
    let title = format!(
        "{} {}: {}, {} spans, {} errors{}{}",
        node.function,
        node.operation,
        format::ms(Some(node.duration_ms)),
        node.span_count,
        node.errors,
        if node.cold_start { ", cold start" } else { "" },
        if root_cause {
            ", root cause of the chain"
        } else {
            ""
        },
    );
    format!(
        "<a href=\"{href}\"><g class=\"{classes}\" transform=\"translate({x},{y})\"><title>{title}</title>\
         <rect width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"6\"/>\
         <text class=\"name\" x=\"10\" y=\"19\">{function}</text>\
         <text x=\"10\" y=\"36\">{operation}</text>\
         <text x=\"10\" y=\"54\">{duration} · {spans} spans</text>\
         <text x=\"10\" y=\"73\">{marks}</text></g></a>",
        href = escape(&frame.trace_href(&node.trace_id)),
        x = placed.x,
        y = placed.y,
        title = escape(&title),
        function = escape(&shorten(&node.function, 26)),
        operation = escape(&shorten(&node.operation, 30)),
        duration = escape(&format::ms(Some(node.duration_ms))),
        spans = node.span_count,
        marks = mark_text.join(" "),
    )
}

/// The graph of `chain`, its nodes from `nodes` (traces missing from it are left out).
pub fn chain_graph(frame: &Frame, chain: &ChainView, nodes: &[TraceNode]) -> Svg {
    let by_id: HashMap<&str, &TraceNode> = nodes
        .iter()
        .map(|node| (node.trace_id.as_str(), node))
        .collect();
    let order: Vec<String> = chain
        .trace_ids
        .iter()
        .filter(|id| by_id.contains_key(id.as_str()))
        .cloned()
        .collect();
    let trace_edges: Vec<(String, String)> = chain
        .edges
        .iter()
        .filter(|edge| edge.from_trace_id != edge.to_trace_id)
        .map(|edge| (edge.from_trace_id.clone(), edge.to_trace_id.clone()))
        .collect();
    let column = columns(&order, &trace_edges);
    let mut rows_used: HashMap<usize, usize> = HashMap::new();
    let mut placed: HashMap<&str, Placed<'_>> = HashMap::new();
    for id in &order {
        let (Some(node), Some(col)) = (by_id.get(id.as_str()), column.get(id)) else {
            continue;
        };
        let row = rows_used.entry(*col).or_default();
        placed.insert(
            id.as_str(),
            Placed {
                node,
                x: MARGIN + *col as f64 * (NODE_WIDTH + COLUMN_GAP),
                y: MARGIN + *row as f64 * (NODE_HEIGHT + ROW_GAP),
            },
        );
        *row += 1;
    }
    let columns_count = column.values().max().map_or(1, |max| max + 1);
    let rows_count = rows_used.values().max().copied().unwrap_or(1).max(1);
    let width =
        MARGIN * 2.0 + columns_count as f64 * NODE_WIDTH + (columns_count - 1) as f64 * COLUMN_GAP;
    let height = MARGIN * 2.0 + rows_count as f64 * NODE_HEIGHT + (rows_count - 1) as f64 * ROW_GAP;
    let critical: std::collections::HashSet<&str> = chain
        .critical_path
        .iter()
        .map(|step| step.trace_id.as_str())
        .collect();
    let root = chain
        .root_cause
        .as_ref()
        .map(|cause| cause.trace_id.as_str());
    let mut body = String::from(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"arrow\" d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>",
    );
    for edge in &chain.edges {
        let (Some(from), Some(to)) = (
            placed.get(edge.from_trace_id.as_str()),
            placed.get(edge.to_trace_id.as_str()),
        ) else {
            continue;
        };
        if edge.from_trace_id == edge.to_trace_id {
            continue;
        }
        let wait = match (
            from.node.spans.get(&edge.from_span_id),
            to.node.spans.get(&edge.to_span_id),
        ) {
            (Some((_, produced_end)), Some((consumed_start, _))) => {
                format!(
                    "waited {}",
                    format::ms(Some(
                        consumed_start.saturating_sub(*produced_end) as f64 / 1e6
                    ))
                )
            }
            _ => "wait unknown".to_owned(),
        };
        let (x1, y1) = (from.x + NODE_WIDTH, from.y + NODE_HEIGHT / 2.0);
        let (x2, y2) = (to.x, to.y + NODE_HEIGHT / 2.0);
        let on_path = critical.contains(edge.from_trace_id.as_str())
            && critical.contains(edge.to_trace_id.as_str());
        let label = format!("{} · {wait}", edge.kind);
        body.push_str(&format!(
            "<path class=\"edge{}\" d=\"M{x1},{y1} C{cx},{y1} {cx},{y2} {x2},{y2}\" marker-end=\"url(#arrow)\"><title>{}</title></path>\
             <text x=\"{mx}\" y=\"{my}\" text-anchor=\"middle\">{}</text>",
            if on_path { " critical" } else { "" },
            escape(&format!("{} → {}: {label}", from.node.function, to.node.function)),
            escape(&label),
            cx = (x1 + x2) / 2.0,
            mx = (x1 + x2) / 2.0,
            my = (y1 + y2) / 2.0 - 6.0,
        ));
    }
    for id in &order {
        if let Some(place) = placed.get(id.as_str()) {
            body.push_str(&node_markup(
                frame,
                place,
                critical.contains(id.as_str()),
                root == Some(id.as_str()),
            ));
        }
    }
    let summary = format!(
        "{} traces, {} hand-offs, {} errors{}",
        order.len(),
        trace_edges.len(),
        chain.error_count,
        chain
            .root_cause
            .as_ref()
            .map(|cause| format!(
                "; root cause {} {}: {}",
                cause.service, cause.name, cause.status_message
            ))
            .unwrap_or_default()
    );
    Svg(format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Causal chain graph\"><title>Causal chain graph</title><desc>{}</desc>{body}</svg>",
        escape(&summary)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn edge(from: &str, to: &str) -> (String, String) {
        (from.to_owned(), to.to_owned())
    }

    #[test]
    fn columns_follow_the_longest_run_of_hand_offs() {
        // a → b → d, a → c → d, c → e: d sits after both b and c.
        let columns = columns(
            &ids(&["a", "b", "c", "d", "e"]),
            &[
                edge("a", "b"),
                edge("a", "c"),
                edge("b", "d"),
                edge("c", "d"),
                edge("c", "e"),
            ],
        );
        assert_eq!(columns["a"], 0);
        assert_eq!(columns["b"], 1);
        assert_eq!(columns["d"], 2);
        assert_eq!(columns["e"], 2);
    }

    #[test]
    fn a_cycle_of_hand_offs_stays_bounded() {
        let columns = columns(&ids(&["a", "b"]), &[edge("a", "b"), edge("b", "a")]);
        assert!(columns["a"] < 2 && columns["b"] < 2);
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
