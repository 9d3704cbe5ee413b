//! Lays a trace out as a waterfall: spans in depth-first order under their
//! parents, each with its offset and width on a 0–1000 scale of the
//! trace's time (drawn as SVG, so no `style` attribute is needed), its
//! service colour, error and cold-start marks, and its details.

use std::collections::HashMap;
use tracehouse_query::SpanView;

/// Width of the timeline scale that bars are drawn on.
pub const SCALE: f64 = 1000.0;

/// An event of a span.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub name: String,
    /// From the span's start.
    pub offset_ms: f64,
    pub attributes: String,
}

/// One row of the waterfall.
#[derive(Debug, Clone)]
pub struct WaterfallRow {
    pub depth: usize,
    pub span_id: String,
    pub name: String,
    pub service: String,
    /// Index of the service in the legend, for its colour class.
    pub service_index: usize,
    pub kind: &'static str,
    pub is_error: bool,
    pub cold_start: bool,
    pub has_children: bool,
    pub status_message: String,
    pub duration_ms: f64,
    /// Start offset from the trace's start in ms.
    pub offset_ms: f64,
    /// Bar start and length on [`SCALE`] (at least a sliver, to stay visible).
    pub bar_x: f64,
    pub bar_width: f64,
    /// Attributes and resource, pretty JSON.
    pub attributes: String,
    pub resource: String,
    pub scope: String,
    pub events: Vec<EventRow>,
    /// Linked spans: trace id and span id.
    pub links: Vec<(String, String)>,
}

struct TraceExtent<'a> {
    start: u64,
    length: f64,
    services: &'a [String],
}

/// Whether a span says it is a cold-started invocation (`faas.coldstart`).
pub fn is_cold_start(span: &SpanView) -> bool {
    matches!(
        span.attributes.get("faas.coldstart"),
        Some(serde_json::Value::Bool(true))
    ) || span
        .attributes
        .get("faas.coldstart")
        .and_then(|v| v.as_str())
        == Some("true")
}

impl TraceExtent<'_> {
    fn row(&self, span: &SpanView, depth: usize, has_children: bool) -> WaterfallRow {
        let offset = span.start_time_unix_nano.saturating_sub(self.start) as f64;
        let bar_x = (offset / self.length * SCALE).min(SCALE - 2.0);
        let pretty =
            |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
        WaterfallRow {
            depth,
            span_id: span.span_id.clone(),
            name: span.name.clone(),
            service: span.service.clone(),
            service_index: self
                .services
                .iter()
                .position(|service| *service == span.service)
                .unwrap_or(0),
            kind: span.kind,
            is_error: span.status_code == "error",
            cold_start: is_cold_start(span),
            has_children,
            status_message: span.status_message.clone(),
            duration_ms: span.duration_ns as f64 / 1e6,
            offset_ms: offset / 1e6,
            bar_x,
            bar_width: (span.duration_ns as f64 / self.length * SCALE).clamp(2.0, SCALE - bar_x),
            attributes: pretty(&span.attributes),
            resource: pretty(&span.resource),
            scope: [span.scope.name.as_str(), span.scope.version.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            events: span
                .events
                .iter()
                .map(|event| EventRow {
                    name: event.name.clone(),
                    offset_ms: event
                        .time_unix_nano
                        .saturating_sub(span.start_time_unix_nano)
                        as f64
                        / 1e6,
                    attributes: serde_json::to_string(&event.attributes).unwrap_or_default(),
                })
                .collect(),
            links: span
                .links
                .iter()
                .map(|link| (link.trace_id.clone(), link.span_id.clone()))
                .collect(),
        }
    }
}

/// First start and last end of `spans` (zeros without spans).
pub fn extent(spans: &[SpanView]) -> (u64, u64) {
    let start = spans
        .iter()
        .map(|span| span.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = spans
        .iter()
        .map(|span| span.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    (start, end)
}

/// The distinct services of `spans`, sorted: the legend and colour order.
pub fn services(spans: &[SpanView]) -> Vec<String> {
    let mut services: Vec<String> = spans.iter().map(|span| span.service.clone()).collect();
    services.sort();
    services.dedup();
    services
}

/// The rows, parents before children, siblings by start time. Spans whose
/// parent is not in the trace (not yet arrived, or in another trace) start
/// their own subtree.
pub fn layout(spans: &[SpanView]) -> Vec<WaterfallRow> {
    let (start, end) = extent(spans);
    let services = services(spans);
    let extent = TraceExtent {
        start,
        length: end.saturating_sub(start).max(1) as f64,
        services: &services,
    };
    let index_of: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(index, span)| (span.span_id.as_str(), index))
        .collect();
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = index_of
            .get(span.parent_span_id.as_str())
            .copied()
            .filter(|parent| *parent != index);
        children.entry(parent).or_default().push(index);
    }
    for siblings in children.values_mut() {
        siblings.sort_by_key(|index| {
            spans
                .get(*index)
                .map_or(0, |span| span.start_time_unix_nano)
        });
    }
    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|index| (*index, 0)).collect())
        .unwrap_or_default();
    while let Some((index, depth)) = stack.pop() {
        let (Some(seen), Some(span)) = (visited.get_mut(index), spans.get(index)) else {
            continue;
        };
        if std::mem::replace(seen, true) {
            continue;
        }
        let kids = children.get(&Some(index));
        rows.push(extent.row(span, depth, kids.is_some_and(|kids| !kids.is_empty())));
        if let Some(kids) = kids {
            stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
        }
    }
    // Spans in a cycle of parent ids (malformed data) never hang under a root; list them flat.
    for (span, seen) in spans.iter().zip(&visited) {
        if !seen {
            rows.push(extent.row(span, 0, false));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_query::traces::ScopeView;

    fn span(id: &str, parent: &str, start: u64, end: u64) -> SpanView {
        SpanView {
            trace_id: "t".to_owned(),
            span_id: id.to_owned(),
            parent_span_id: parent.to_owned(),
            name: id.to_owned(),
            kind: "internal",
            service: "svc".to_owned(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            duration_ns: end - start,
            status_code: "unset",
            status_message: String::new(),
            trace_state: String::new(),
            flags: 0,
            attributes: serde_json::json!({}),
            resource: serde_json::json!({}),
            scope: ScopeView {
                name: String::new(),
                version: String::new(),
            },
            events: vec![],
            links: vec![],
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    #[test]
    fn children_follow_parents_in_start_order() {
        let mut cold = span("late-child", "root", 60, 100);
        cold.attributes = serde_json::json!({"faas.coldstart": true});
        let spans = vec![
            cold,
            span("root", "", 0, 100),
            span("grandchild", "early-child", 20, 30),
            span("early-child", "root", 10, 50),
            span("orphan", "missing", 5, 6),
            span("cycle-a", "cycle-b", 1, 2),
            span("cycle-b", "cycle-a", 1, 2),
        ];
        let rows = layout(&spans);
        let order: Vec<(&str, usize)> = rows
            .iter()
            .map(|row| (row.name.as_str(), row.depth))
            .collect();
        assert_eq!(
            order,
            vec![
                ("root", 0),
                ("early-child", 1),
                ("grandchild", 2),
                ("late-child", 1),
                ("orphan", 0),
                ("cycle-a", 0),
                ("cycle-b", 0)
            ]
        );
        assert_eq!(rows[3].bar_x, 600.0);
        assert_eq!(rows[3].bar_width, 400.0);
        assert!(rows[3].cold_start && !rows[0].cold_start);
        assert!(rows[0].has_children && rows[1].has_children && !rows[2].has_children);
    }
}
