//! Lays a trace out as a waterfall: spans in depth-first order under their
//! parents, each with its offset and width as a share of the trace's time.

use std::collections::HashMap;
use tracehouse_model::StatusCode;
use tracehouse_query::SpanView;

/// One row of the waterfall.
#[derive(Debug, Clone)]
pub struct WaterfallRow {
    pub depth: usize,
    pub span_id: String,
    pub name: String,
    pub service: String,
    pub kind: &'static str,
    pub is_error: bool,
    pub status_message: String,
    pub duration_ms: f64,
    /// Start offset from the trace's start, percent of the trace's length.
    pub offset_percent: f64,
    /// Length, percent of the trace's length (at least a sliver, to stay visible).
    pub width_percent: f64,
    /// Attributes, pretty JSON.
    pub attributes: String,
    pub event_names: Vec<String>,
    pub link_count: usize,
}

struct TraceExtent {
    start: u64,
    length: f64,
}

impl TraceExtent {
    fn row(&self, span: &SpanView, depth: usize) -> WaterfallRow {
        let offset = span.start_time_unix_nano.saturating_sub(self.start) as f64;
        WaterfallRow {
            depth,
            span_id: span.span_id.clone(),
            name: span.name.clone(),
            service: span.service.clone(),
            kind: span.kind.as_str(),
            is_error: span.status_code == StatusCode::Error,
            status_message: span.status_message.clone(),
            duration_ms: span.duration_ns as f64 / 1e6,
            offset_percent: offset / self.length * 100.0,
            width_percent: (span.duration_ns as f64 / self.length * 100.0).max(0.3),
            attributes: serde_json::to_string_pretty(&span.attributes).unwrap_or_default(),
            event_names: span.events.iter().map(|event| event.name.clone()).collect(),
            link_count: span.links.len(),
        }
    }
}

/// The rows, parents before children, siblings by start time. Spans whose
/// parent is not in the trace (not yet arrived, or in another trace) start
/// their own subtree.
pub fn layout(spans: &[SpanView]) -> Vec<WaterfallRow> {
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
    let extent = TraceExtent {
        start,
        length: end.saturating_sub(start).max(1) as f64,
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
        siblings.sort_by_key(|index| spans[*index].start_time_unix_nano);
    }
    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|index| (*index, 0)).collect())
        .unwrap_or_default();
    while let Some((index, depth)) = stack.pop() {
        if std::mem::replace(&mut visited[index], true) {
            continue;
        }
        rows.push(extent.row(&spans[index], depth));
        if let Some(kids) = children.get(&Some(index)) {
            stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
        }
    }
    // Spans in a cycle of parent ids (malformed data) never hang under a root; list them flat.
    for (index, seen) in visited.iter().enumerate() {
        if !seen {
            rows.push(extent.row(&spans[index], 0));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::SpanKind;
    use tracehouse_query::traces::ScopeView;

    fn span(id: &str, parent: &str, start: u64, end: u64) -> SpanView {
        SpanView {
            trace_id: "t".to_owned(),
            span_id: id.to_owned(),
            parent_span_id: parent.to_owned(),
            name: id.to_owned(),
            kind: SpanKind::Internal,
            service: "svc".to_owned(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            duration_ns: end - start,
            status_code: StatusCode::Unset,
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
        let spans = vec![
            span("late-child", "root", 60, 100),
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
        assert_eq!(rows[3].offset_percent, 60.0);
        assert_eq!(rows[3].width_percent, 40.0);
    }
}
