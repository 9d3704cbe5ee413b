//! Causal chains: every span reachable from one trace through parent/child
//! edges, span links (both directions) and messaging hand-offs, read
//! breadth-first one batch of traces at a time from index tables (never a
//! scan of `spans`), with a root cause and a critical path.

pub mod broken;
pub mod graph;
pub mod invocations;
pub mod messaging;

use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::QueryService;
use graph::{ChainGraph, ChainSpan, EdgeKind, PathStep, TraceKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use tracehouse_model::{ProjectId, SpanKind, StatusCode, TraceId};

/// Default cap on the traces one chain query reads.
pub const DEFAULT_MAX_TRACES: usize = 200;
/// Default cap on the spans one chain query reads.
pub const DEFAULT_MAX_SPANS: usize = 20_000;

/// Bounds of one chain query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLimits {
    /// Traces read at most; the chain is truncated beyond.
    pub max_traces: usize,
    /// Spans read at most; the chain is truncated beyond.
    pub max_spans: usize,
}

impl Default for ChainLimits {
    fn default() -> Self {
        Self {
            max_traces: DEFAULT_MAX_TRACES,
            max_spans: DEFAULT_MAX_SPANS,
        }
    }
}

/// A causal chain as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainView {
    /// Trace ids in causal order.
    pub trace_ids: Vec<String>,
    pub edges: Vec<ChainEdgeView>,
    pub span_count: usize,
    pub error_count: usize,
    pub start_time_unix_nano: u64,
    /// First start to last end.
    pub duration_ms: f64,
    /// Invocation records (entry spans of functions) in the chain.
    pub invocation_count: u64,
    /// Cold starts among the chain's invocations, decided as the functions API does.
    pub cold_starts: u64,
    /// Sum of the chain's invocation costs, priced as the functions API
    /// does; `None` when an invocation cannot be priced (see `cost_unknown_reason`).
    pub cost_usd: Option<f64>,
    /// Why `cost_usd` is unknown (e.g. memory size or provider unknown).
    pub cost_unknown_reason: Option<String>,
    pub root_cause: Option<RootCauseView>,
    pub critical_path: Vec<PathStepView>,
    /// The query stopped at a limit; more of the chain exists.
    pub truncated: bool,
}

/// A hand-off between traces.
#[derive(Debug, Clone, Serialize)]
pub struct ChainEdgeView {
    pub from_trace_id: String,
    pub from_span_id: String,
    pub to_trace_id: String,
    pub to_span_id: String,
    pub kind: EdgeKind,
}

/// The span that caused the chain's errors.
#[derive(Debug, Clone, Serialize)]
pub struct RootCauseView {
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
    pub name: String,
    pub status_message: String,
}

/// One step of the critical path.
#[derive(Debug, Clone, Serialize)]
pub struct PathStepView {
    pub kind: PathStepKind,
    pub trace_id: String,
    /// Empty for a queue wait.
    pub span_id: String,
    /// The span's service; the destination for a queue wait.
    pub service: String,
    pub name: String,
    pub self_ms: f64,
    /// The span is a cold-started invocation (`faas.coldstart`).
    pub cold_start: bool,
}

/// What a step of the critical path is; serialized `span` or `queue_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStepKind {
    Span,
    /// Time a message spent waiting for its consumer.
    QueueWait,
}

impl std::fmt::Display for PathStepKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Span => "span",
            Self::QueueWait => "queue_wait",
        })
    }
}

impl PathStepView {
    /// Whether the step is a queue wait rather than a span.
    pub fn is_queue_wait(&self) -> bool {
        self.kind == PathStepKind::QueueWait
    }
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct ChainSpanRow {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: [u8; 8],
    service: String,
    name: String,
    kind: u8,
    status_code: u8,
    status_message: String,
    start_time_unix_nano: u64,
    end_time_unix_nano: u64,
    attribute_keys: Vec<String>,
    attribute_values: Vec<String>,
    link_trace_ids: Vec<[u8; 16]>,
    link_span_ids: Vec<[u8; 8]>,
    function_name: String,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct TraceIdRow {
    trace_id: [u8; 16],
}

impl From<ChainSpanRow> for ChainSpan {
    fn from(row: ChainSpanRow) -> Self {
        let kind = SpanKind::from_number(i64::from(row.kind));
        let facts = messaging::messaging_facts(kind, &row.attribute_keys, &row.attribute_values);
        let cold_start = row
            .attribute_keys
            .iter()
            .position(|key| key == "faas.coldstart")
            .and_then(|position| row.attribute_values.get(position))
            .is_some_and(|value| value == "true");
        Self {
            trace_id: row.trace_id,
            span_id: row.span_id,
            parent_span_id: row.parent_span_id,
            service: row.service,
            function: row.function_name,
            name: row.name,
            kind,
            is_error: row.status_code == StatusCode::Error.as_number(),
            status_message: row.status_message,
            start_time_unix_nano: row.start_time_unix_nano,
            end_time_unix_nano: row.end_time_unix_nano,
            message_id: facts.message_id,
            destination: facts.destination,
            messaging_role: facts.role,
            links: row
                .link_trace_ids
                .into_iter()
                .zip(row.link_span_ids)
                .collect(),
            cold_start,
        }
    }
}

/// What the breadth-first walk found.
struct Walk {
    spans: Vec<ChainSpan>,
    truncated: bool,
}

impl QueryService {
    /// The causal chain that `trace_id` belongs to; 404 when the trace is unknown.
    pub async fn chain(
        &self,
        project: &ProjectId,
        trace_id: TraceId,
    ) -> Result<ChainView, QueryError> {
        let walk = self.walk_chain(project, *trace_id.as_bytes()).await?;
        if walk.spans.is_empty() {
            return Err(QueryError::NotFound(format!("trace {trace_id}")));
        }
        let graph = ChainGraph::new(walk.spans);
        let invocations = self.chain_invocations(project, &graph).await?;
        Ok(chain_view(graph, invocations, walk.truncated))
    }

    /// Breadth-first over traces: each round reads the frontier's spans
    /// from `spans` (ordered by trace id) and, at the same time, the link index (spans
    /// linking to the frontier); then the message index (other spans of the
    /// frontier's message ids). The links in the frontier's spans, the
    /// linking traces and the message traces are the next frontier.
    async fn walk_chain(&self, project: &ProjectId, start: TraceKey) -> Result<Walk, QueryError> {
        let limits = self.chain_limits();
        let mut visited: HashSet<TraceKey> = HashSet::from([start]);
        let mut frontier: Vec<TraceKey> = vec![start];
        let mut spans: Vec<ChainSpan> = Vec::new();
        let mut truncated = false;
        while !frontier.is_empty() {
            let remaining_spans = limits.max_spans.saturating_sub(spans.len());
            // The frontier's spans and the spans linking to it do not depend
            // on each other: ask for both at once.
            let (batch, linking) = futures::future::try_join(
                self.chain_trace_spans(project, &frontier, remaining_spans),
                self.traces_linking_to(project, &frontier, limits.max_traces),
            )
            .await?;
            if spans.is_empty() && batch.is_empty() {
                // The trace asked for is unknown, even if other spans link to it.
                break;
            }
            if batch.len() > remaining_spans {
                truncated = true;
                spans.extend(batch.into_iter().take(remaining_spans));
                break;
            }
            let mut next: BTreeSet<TraceKey> = BTreeSet::new();
            let mut message_ids: BTreeSet<String> = BTreeSet::new();
            for span in &batch {
                next.extend(span.links.iter().map(|(trace, _)| *trace));
                if !span.message_id.is_empty() {
                    message_ids.insert(span.message_id.clone());
                }
            }
            next.extend(linking);
            if !message_ids.is_empty() {
                next.extend(
                    self.traces_with_messages(project, &message_ids, limits.max_traces)
                        .await?,
                );
            }
            spans.extend(batch);
            frontier = next
                .into_iter()
                .filter(|trace| !visited.contains(trace))
                .collect();
            let room = limits.max_traces.saturating_sub(visited.len());
            if frontier.len() > room {
                truncated = true;
                frontier.truncate(room);
            }
            visited.extend(frontier.iter().copied());
        }
        Ok(Walk { spans, truncated })
    }

    async fn chain_trace_spans(
        &self,
        project: &ProjectId,
        traces: &[TraceKey],
        limit: usize,
    ) -> Result<Vec<ChainSpan>, QueryError> {
        let params = batch_params(project, "trace_ids", hex_ids(traces), limit);
        let rows: Vec<ChainSpanRow> = self.fetch(&sql::CHAIN_TRACE_SPANS, &params).await?;
        Ok(rows.into_iter().map(ChainSpan::from).collect())
    }

    async fn traces_linking_to(
        &self,
        project: &ProjectId,
        traces: &[TraceKey],
        limit: usize,
    ) -> Result<Vec<TraceKey>, QueryError> {
        let params = batch_params(project, "trace_ids", hex_ids(traces), limit);
        let rows: Vec<TraceIdRow> = self.fetch(&sql::CHAIN_LINKS_TO_TRACES, &params).await?;
        Ok(rows.into_iter().map(|row| row.trace_id).collect())
    }

    async fn traces_with_messages(
        &self,
        project: &ProjectId,
        message_ids: &BTreeSet<String>,
        limit: usize,
    ) -> Result<Vec<TraceKey>, QueryError> {
        let ids: Vec<String> = message_ids.iter().cloned().collect();
        let params = batch_params(project, "message_ids", ids, limit);
        let rows: Vec<TraceIdRow> = self.fetch(&sql::CHAIN_MESSAGES_BY_ID, &params).await?;
        Ok(rows.into_iter().map(|row| row.trace_id).collect())
    }
}

/// The binds of a chain step: a batch of ids, and one row more than `limit`
/// to tell truncation.
fn batch_params(project: &ProjectId, name: &'static str, ids: Vec<String>, limit: usize) -> Params {
    Params::new()
        .set("project", project.as_str())
        .set(name, ids)
        .set(
            "limit",
            u64::try_from(limit.saturating_add(1)).unwrap_or(u64::MAX),
        )
}

fn hex_ids(traces: &[TraceKey]) -> Vec<String> {
    traces.iter().map(hex::encode).collect()
}

fn nanos_to_ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

fn chain_view(
    graph: ChainGraph,
    invocations: invocations::ChainInvocations,
    truncated: bool,
) -> ChainView {
    let start = graph
        .spans
        .iter()
        .map(|span| span.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let end = graph
        .spans
        .iter()
        .map(|span| span.end_time_unix_nano)
        .max()
        .unwrap_or(start);
    let edges = graph
        .edges
        .iter()
        .map(|edge| ChainEdgeView {
            from_trace_id: hex::encode(edge.from.0),
            from_span_id: hex::encode(edge.from.1),
            to_trace_id: hex::encode(edge.to.0),
            to_span_id: hex::encode(edge.to.1),
            kind: edge.kind,
        })
        .collect();
    let root_cause = graph.root_cause().map(|span| RootCauseView {
        trace_id: hex::encode(span.trace_id),
        span_id: hex::encode(span.span_id),
        service: span.service.clone(),
        name: span.name.clone(),
        status_message: span.status_message.clone(),
    });
    let critical_path = graph
        .critical_path()
        .into_iter()
        .map(|step| match step {
            PathStep::Span { span, self_nanos } => PathStepView {
                kind: PathStepKind::Span,
                trace_id: hex::encode(span.trace_id),
                span_id: hex::encode(span.span_id),
                service: span.service.clone(),
                name: span.name.clone(),
                self_ms: nanos_to_ms(self_nanos),
                cold_start: span.cold_start,
            },
            PathStep::QueueWait {
                consumer,
                destination,
                wait_nanos,
            } => PathStepView {
                kind: PathStepKind::QueueWait,
                trace_id: hex::encode(consumer.trace_id),
                span_id: String::new(),
                service: destination.to_owned(),
                name: format!("queue wait {destination}").trim_end().to_owned(),
                self_ms: nanos_to_ms(wait_nanos),
                cold_start: false,
            },
        })
        .collect();
    ChainView {
        trace_ids: graph.causal_trace_order().iter().map(hex::encode).collect(),
        edges,
        span_count: graph.spans.len(),
        error_count: graph.spans.iter().filter(|span| span.is_error).count(),
        start_time_unix_nano: start,
        duration_ms: nanos_to_ms(end.saturating_sub(start)),
        invocation_count: invocations.invocations,
        cold_starts: invocations.cold_starts,
        cost_usd: invocations.cost_usd,
        cost_unknown_reason: invocations.cost_unknown_reason,
        root_cause,
        critical_path,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_steps_bind_what_their_templates_declare() {
        let project = ProjectId::default();
        let traces = batch_params(&project, "trace_ids", vec![], 10);
        assert_eq!(sql::CHAIN_TRACE_SPANS.check(&traces), Ok(()));
        assert_eq!(sql::CHAIN_LINKS_TO_TRACES.check(&traces), Ok(()));
        let messages = batch_params(&project, "message_ids", vec![], 10);
        assert_eq!(sql::CHAIN_MESSAGES_BY_ID.check(&messages), Ok(()));
    }
}
