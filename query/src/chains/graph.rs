//! The causal graph of a chain, built from the spans a chain query loaded:
//! hand-off edges, causal order of traces, root cause and critical path.
//! Pure functions over memory, so every rule is unit-tested without storage.
//! The rules are documented in `docs/chains.md`.

use super::messaging::MessagingRole;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use tracehouse_model::SpanKind;

/// Raw trace id bytes.
pub type TraceKey = [u8; 16];
/// Raw span id bytes.
pub type SpanKey = [u8; 8];
/// A span's identity in a chain.
pub type SpanRef = (TraceKey, SpanKey);

/// What a chain needs to know about one span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainSpan {
    pub trace_id: TraceKey,
    pub span_id: SpanKey,
    /// All zeros for a root span.
    pub parent_span_id: SpanKey,
    pub service: String,
    /// `faas.name` (resource, else span), else the service: the function of invocation records.
    pub function: String,
    pub name: String,
    pub kind: SpanKind,
    pub is_error: bool,
    pub status_message: String,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    /// `messaging.message.id` (or the old `messaging.message_id`), empty when absent.
    pub message_id: String,
    /// `messaging.destination.name` (or the old `messaging.destination`).
    pub destination: String,
    pub messaging_role: MessagingRole,
    /// The spans this span links to.
    pub links: Vec<SpanRef>,
    /// `faas.coldstart = true` on the span.
    pub cold_start: bool,
}

impl ChainSpan {
    fn key(&self) -> SpanRef {
        (self.trace_id, self.span_id)
    }

    fn has_parent(&self) -> bool {
        self.parent_span_id != [0; 8]
    }
}

/// How a hand-off edge was found; serialized `link` or `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A span link from the `to` span to the `from` span.
    Link,
    /// A producer and a consumer of the same message id (and destination).
    Message,
}

impl std::fmt::Display for EdgeKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Link => "link",
            Self::Message => "message",
        })
    }
}

/// A causal hand-off between two spans: `from` happened before and caused `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: SpanRef,
    pub to: SpanRef,
    pub kind: EdgeKind,
}

/// The loaded spans of a chain with lookups.
pub struct ChainGraph {
    pub spans: Vec<ChainSpan>,
    index: HashMap<SpanRef, usize>,
    /// Hand-off edges (links and messages), sorted and deduplicated.
    pub edges: Vec<Edge>,
}

impl ChainGraph {
    /// Builds the graph: link edges from every loaded span's links whose
    /// target is loaded, then message edges between producers and consumers
    /// of the same message that no link or parent relation already connects.
    pub fn new(spans: Vec<ChainSpan>) -> Self {
        let index: HashMap<SpanRef, usize> = spans
            .iter()
            .enumerate()
            .map(|(position, span)| (span.key(), position))
            .collect();
        let mut edges = BTreeSet::new();
        for span in &spans {
            for link in &span.links {
                if index.contains_key(link) && *link != span.key() {
                    edges.insert(Edge {
                        from: *link,
                        to: span.key(),
                        kind: EdgeKind::Link,
                    });
                }
            }
        }
        let mut producers_by_message: HashMap<&str, Vec<&ChainSpan>> = HashMap::new();
        for span in &spans {
            if span.messaging_role == MessagingRole::Producer && !span.message_id.is_empty() {
                producers_by_message
                    .entry(span.message_id.as_str())
                    .or_default()
                    .push(span);
            }
        }
        for consumer in &spans {
            if consumer.messaging_role != MessagingRole::Consumer || consumer.message_id.is_empty()
            {
                continue;
            }
            let Some(producers) = producers_by_message.get(consumer.message_id.as_str()) else {
                continue;
            };
            for producer in producers {
                let same_destination = producer.destination.is_empty()
                    || consumer.destination.is_empty()
                    || producer.destination == consumer.destination;
                let linked = consumer.links.contains(&producer.key());
                let is_parent = consumer.trace_id == producer.trace_id
                    && consumer.parent_span_id == producer.span_id;
                if same_destination && !linked && !is_parent {
                    edges.insert(Edge {
                        from: producer.key(),
                        to: consumer.key(),
                        kind: EdgeKind::Message,
                    });
                }
            }
        }
        Self {
            spans,
            index,
            edges: edges.into_iter().collect(),
        }
    }

    fn span(&self, key: &SpanRef) -> Option<&ChainSpan> {
        self.index.get(key).map(|position| &self.spans[*position])
    }

    fn parent_of(&self, span: &ChainSpan) -> Option<&ChainSpan> {
        if !span.has_parent() {
            return None;
        }
        self.span(&(span.trace_id, span.parent_span_id))
    }

    /// Whether the step from `parent` to `child` is an asynchronous hand-off
    /// (a message): the parent produced it or the child consumed it.
    fn is_async_parent_edge(parent: &ChainSpan, child: &ChainSpan) -> bool {
        parent.kind == SpanKind::Producer || child.kind == SpanKind::Consumer
    }

    /// Causal sources of a span through hand-off edges.
    fn hand_off_sources(&self, key: SpanRef) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |edge| edge.to == key)
    }

    /// Trace ids in causal order: a trace comes after every trace that
    /// hands off to it; unrelated traces by start time. Cycles (which clock
    /// skew or odd links can create) are broken by start time too.
    pub fn causal_trace_order(&self) -> Vec<TraceKey> {
        let mut start_by_trace: BTreeMap<TraceKey, u64> = BTreeMap::new();
        for span in &self.spans {
            let start = start_by_trace.entry(span.trace_id).or_insert(u64::MAX);
            *start = (*start).min(span.start_time_unix_nano);
        }
        let mut successors: HashMap<TraceKey, BTreeSet<TraceKey>> = HashMap::new();
        let mut incoming: HashMap<TraceKey, usize> = HashMap::new();
        for edge in &self.edges {
            let (from, to) = (edge.from.0, edge.to.0);
            if from != to && successors.entry(from).or_default().insert(to) {
                *incoming.entry(to).or_default() += 1;
            }
        }
        let mut ready: BinaryHeap<Reverse<(u64, TraceKey)>> = start_by_trace
            .iter()
            .filter(|(trace, _)| !incoming.contains_key(*trace))
            .map(|(trace, start)| Reverse((*start, *trace)))
            .collect();
        let mut order = Vec::with_capacity(start_by_trace.len());
        let mut placed = HashSet::new();
        loop {
            let next = match ready.pop() {
                Some(Reverse((_, trace))) => trace,
                None => {
                    // A cycle: release the earliest trace not yet placed.
                    let Some((trace, _)) = start_by_trace
                        .iter()
                        .filter(|(trace, _)| !placed.contains(*trace))
                        .min_by_key(|(trace, start)| (**start, **trace))
                    else {
                        break;
                    };
                    *trace
                }
            };
            if !placed.insert(next) {
                continue;
            }
            order.push(next);
            for successor in successors.get(&next).into_iter().flatten() {
                if let Some(count) = incoming.get_mut(successor) {
                    *count = count.saturating_sub(1);
                    if *count == 0 && !placed.contains(successor) {
                        let start = start_by_trace.get(successor).copied().unwrap_or(u64::MAX);
                        ready.push(Reverse((start, *successor)));
                    }
                }
            }
        }
        order
    }

    /// Splits the chain into steps: spans joined by synchronous parent/child
    /// edges form one step; a message (producer parent, consumer child, a
    /// link or a message match) starts a new one. Returns the step of each
    /// span (by position) and each span's depth inside its step.
    fn steps(&self) -> (Vec<usize>, Vec<usize>) {
        const UNKNOWN: usize = usize::MAX;
        let count = self.spans.len();
        // The top span of each span's step (by position), and its depth below it.
        let mut top = vec![UNKNOWN; count];
        let mut depth = vec![0; count];
        for start in 0..count {
            // Climb synchronous parents until a span whose top is known, or a step's top.
            let mut climbed = vec![start];
            let (mut known_top, mut known_depth) = (UNKNOWN, 0);
            while let Some(&current) = climbed.last() {
                if top[current] != UNKNOWN {
                    climbed.pop();
                    (known_top, known_depth) = (top[current], depth[current]);
                    break;
                }
                let span = &self.spans[current];
                let sync_parent = self
                    .parent_of(span)
                    .filter(|parent| !Self::is_async_parent_edge(parent, span))
                    .map(|parent| self.index[&parent.key()])
                    .filter(|parent| !climbed.contains(parent));
                match sync_parent {
                    Some(parent) => climbed.push(parent),
                    None => break,
                }
            }
            // Assign from the top down.
            for position in climbed.into_iter().rev() {
                if known_top == UNKNOWN {
                    known_top = position;
                    known_depth = 0;
                } else {
                    known_depth += 1;
                }
                top[position] = known_top;
                depth[position] = known_depth;
            }
        }
        (top, depth)
    }

    /// Edges between steps: hand-offs and producer-to-consumer parent edges.
    fn step_predecessors(&self, step: &[usize]) -> HashMap<usize, BTreeSet<usize>> {
        let mut predecessors: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        for edge in &self.edges {
            if let (Some(from), Some(to)) = (self.index.get(&edge.from), self.index.get(&edge.to)) {
                if step[*from] != step[*to] {
                    predecessors
                        .entry(step[*to])
                        .or_default()
                        .insert(step[*from]);
                }
            }
        }
        for (position, span) in self.spans.iter().enumerate() {
            if let Some(parent) = self.parent_of(span) {
                let parent_step = step[self.index[&parent.key()]];
                if parent_step != step[position] {
                    predecessors
                        .entry(step[position])
                        .or_default()
                        .insert(parent_step);
                }
            }
        }
        predecessors
    }

    /// The span that caused the chain's errors, or `None` without errors.
    ///
    /// Rule: split the chain into steps (see [`Self::steps`]); a step fails
    /// when one of its spans has status error. The first failing step is one
    /// that no other failing step precedes causally (earliest start among
    /// several). Its root cause is its deepest error span; ties go to the one
    /// that ended first, since an error propagates upward after its cause ends.
    pub fn root_cause(&self) -> Option<&ChainSpan> {
        if !self.spans.iter().any(|span| span.is_error) {
            return None;
        }
        let (step, depth) = self.steps();
        let predecessors = self.step_predecessors(&step);
        let failing: HashSet<usize> = self
            .spans
            .iter()
            .enumerate()
            .filter(|(_, span)| span.is_error)
            .map(|(position, _)| step[position])
            .collect();
        let has_failing_ancestor = |start: usize| {
            let mut seen = HashSet::from([start]);
            let mut stack: Vec<usize> = predecessors
                .get(&start)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            while let Some(current) = stack.pop() {
                if !seen.insert(current) {
                    continue;
                }
                if failing.contains(&current) {
                    return true;
                }
                stack.extend(predecessors.get(&current).into_iter().flatten().copied());
            }
            false
        };
        let mut step_starts: HashMap<usize, u64> = HashMap::new();
        for (position, span) in self.spans.iter().enumerate() {
            let start = step_starts.entry(step[position]).or_insert(u64::MAX);
            *start = (*start).min(span.start_time_unix_nano);
        }
        let step_start = |wanted: usize| step_starts.get(&wanted).copied().unwrap_or(u64::MAX);
        let first_failing = failing
            .iter()
            .copied()
            .filter(|candidate| !has_failing_ancestor(*candidate))
            .min_by_key(|candidate| (step_start(*candidate), *candidate))
            // Every failing step has a failing ancestor only in a cycle.
            .or_else(|| failing.iter().copied().min_by_key(|s| (step_start(*s), *s)))?;
        self.spans
            .iter()
            .enumerate()
            .filter(|(position, span)| span.is_error && step[*position] == first_failing)
            .min_by_key(|(position, span)| {
                (
                    Reverse(depth[*position]),
                    span.end_time_unix_nano,
                    span.start_time_unix_nano,
                )
            })
            .map(|(_, span)| span)
    }

    /// The critical path: the causal ancestry of the span that finished
    /// last (ties: the later start, i.e. the deeper span), from the chain's
    /// origin to that span, with a queue-wait step wherever a consumer
    /// started after its producer ended.
    pub fn critical_path(&self) -> Vec<PathStep<'_>> {
        let Some(last) = self.spans.iter().max_by_key(|span| {
            (
                span.end_time_unix_nano,
                span.start_time_unix_nano,
                Reverse(span.key()),
            )
        }) else {
            return Vec::new();
        };
        let mut ancestry = vec![last];
        let mut seen = HashSet::from([last.key()]);
        let mut current = last;
        while let Some(previous) = self.causal_predecessor(current) {
            if !seen.insert(previous.key()) {
                break;
            }
            ancestry.push(previous);
            current = previous;
        }
        ancestry.reverse();
        let mut path = Vec::with_capacity(ancestry.len() * 2);
        for (position, span) in ancestry.iter().enumerate() {
            let next = ancestry.get(position + 1);
            let own_end = span.end_time_unix_nano.max(span.start_time_unix_nano);
            let self_end = next.map_or(own_end, |next| {
                next.start_time_unix_nano
                    .clamp(span.start_time_unix_nano, own_end)
            });
            path.push(PathStep::Span {
                span,
                self_nanos: self_end - span.start_time_unix_nano,
            });
            if let Some(next) = next {
                let is_hand_off = next.trace_id != span.trace_id
                    || Self::is_async_parent_edge(span, next)
                    || next.parent_span_id != span.span_id;
                if is_hand_off && next.start_time_unix_nano > own_end {
                    path.push(PathStep::QueueWait {
                        consumer: next,
                        destination: if next.destination.is_empty() {
                            span.destination.as_str()
                        } else {
                            next.destination.as_str()
                        },
                        wait_nanos: next.start_time_unix_nano - own_end,
                    });
                }
            }
        }
        path
    }

    /// The span that `span` waited for: its parent, else the hand-off source
    /// that ended last (a batch consumer waits for its last message).
    fn causal_predecessor(&self, span: &ChainSpan) -> Option<&ChainSpan> {
        if let Some(parent) = self.parent_of(span) {
            return Some(parent);
        }
        self.hand_off_sources(span.key())
            .filter_map(|edge| self.span(&edge.from))
            .max_by_key(|source| (source.end_time_unix_nano, Reverse(source.key())))
    }
}

/// One step of the critical path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep<'a> {
    /// Time spent in a span before the next step started.
    Span {
        span: &'a ChainSpan,
        self_nanos: u64,
    },
    /// Time a message waited between its producer's end and its consumer's start.
    QueueWait {
        consumer: &'a ChainSpan,
        destination: &'a str,
        wait_nanos: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn id16(number: u8) -> TraceKey {
        [number; 16]
    }

    fn id8(number: u8) -> SpanKey {
        [number; 8]
    }

    fn span(trace: u8, id: u8, parent: u8, start_ms: u64, end_ms: u64) -> ChainSpan {
        ChainSpan {
            trace_id: id16(trace),
            span_id: id8(id),
            parent_span_id: if parent == 0 { [0; 8] } else { id8(parent) },
            service: format!("service-{trace}"),
            name: format!("span-{id}"),
            kind: SpanKind::Internal,
            start_time_unix_nano: start_ms * MS,
            end_time_unix_nano: end_ms * MS,
            ..ChainSpan::default()
        }
    }

    fn producer(mut span: ChainSpan, message: &str) -> ChainSpan {
        span.kind = SpanKind::Producer;
        span.messaging_role = MessagingRole::Producer;
        span.message_id = message.to_owned();
        span.destination = "orders".to_owned();
        span
    }

    fn consumer(mut span: ChainSpan, message: &str) -> ChainSpan {
        span.kind = SpanKind::Consumer;
        span.messaging_role = MessagingRole::Consumer;
        span.message_id = message.to_owned();
        span.destination = "orders".to_owned();
        span
    }

    fn failed(mut span: ChainSpan) -> ChainSpan {
        span.is_error = true;
        span
    }

    #[test]
    fn links_and_messages_become_edges_but_not_twice() {
        let mut linked_consumer = consumer(span(2, 20, 0, 10, 12), "m1");
        linked_consumer.links = vec![(id16(1), id8(11))];
        let unlinked_consumer = consumer(span(3, 30, 0, 10, 13), "m1");
        let same_trace_consumer = consumer(span(1, 12, 11, 9, 14), "m1");
        let graph = ChainGraph::new(vec![
            span(1, 10, 0, 0, 8),
            producer(span(1, 11, 10, 1, 2), "m1"),
            linked_consumer,
            unlinked_consumer,
            same_trace_consumer,
        ]);
        assert_eq!(
            graph.edges,
            vec![
                Edge {
                    from: (id16(1), id8(11)),
                    to: (id16(2), id8(20)),
                    kind: EdgeKind::Link
                },
                Edge {
                    from: (id16(1), id8(11)),
                    to: (id16(3), id8(30)),
                    kind: EdgeKind::Message
                },
            ]
        );
        assert_eq!(graph.causal_trace_order(), vec![id16(1), id16(2), id16(3)]);
    }

    #[test]
    fn causal_order_beats_start_time() {
        // Trace 9 starts first by clock but is caused by trace 5.
        let mut caused = span(9, 90, 0, 0, 5);
        caused.links = vec![(id16(5), id8(50))];
        let graph = ChainGraph::new(vec![span(5, 50, 0, 3, 4), caused]);
        assert_eq!(graph.causal_trace_order(), vec![id16(5), id16(9)]);
    }

    /// A: ok, publishes. B consumes: its handler fails because a database
    /// call two levels down timed out. C consumes B's message and fails
    /// deeper still. First error by start time: B's handler. Deepest error
    /// overall: in C. The cause: B's database span.
    #[test]
    fn root_cause_is_deepest_error_of_first_failing_step() {
        let mut b_handler = failed(consumer(span(2, 20, 0, 10, 30), "m1"));
        b_handler.links = vec![(id16(1), id8(11))];
        let mut c_handler = failed(consumer(span(3, 30, 0, 40, 60), "m2"));
        c_handler.links = vec![(id16(2), id8(23))];
        let graph = ChainGraph::new(vec![
            span(1, 10, 0, 0, 5),
            producer(span(1, 11, 10, 1, 2), "m1"),
            b_handler,
            span(2, 21, 20, 11, 25),
            failed(span(2, 22, 21, 12, 24)),
            producer(span(2, 23, 20, 26, 27), "m2"),
            c_handler,
            failed(span(3, 31, 30, 41, 59)),
            failed(span(3, 32, 31, 42, 58)),
            failed(span(3, 33, 32, 43, 57)),
        ]);
        let cause = graph.root_cause().expect("a root cause");
        assert_eq!((cause.trace_id, cause.span_id), (id16(2), id8(22)));
    }

    /// A synchronous call into another service stays in the same step: the
    /// caller's error is a consequence, the callee's deeper error the cause.
    #[test]
    fn root_cause_follows_synchronous_calls() {
        let graph = ChainGraph::new(vec![
            failed(span(1, 10, 0, 0, 10)),
            failed(span(1, 11, 10, 1, 9)),
            failed(span(1, 12, 11, 2, 8)),
            failed(span(1, 13, 12, 3, 4)),
            span(1, 14, 12, 5, 6),
        ]);
        assert_eq!(graph.root_cause().map(|s| s.span_id), Some(id8(13)));
    }

    /// Links both ways (a reply linking back) make a cycle: the order falls
    /// back to start time and every answer still terminates.
    #[test]
    fn cycles_terminate_and_fall_back_to_start_time() {
        let mut first = failed(span(1, 10, 0, 0, 10));
        first.links = vec![(id16(2), id8(20))];
        let mut second = failed(span(2, 20, 0, 20, 30));
        second.links = vec![(id16(1), id8(10))];
        let graph = ChainGraph::new(vec![second, first]);
        assert_eq!(graph.causal_trace_order(), vec![id16(1), id16(2)]);
        assert_eq!(graph.root_cause().map(|s| s.trace_id), Some(id16(1)));
        let path_length = graph.critical_path().len();
        assert!(path_length >= 2, "{path_length}");
    }

    #[test]
    fn no_errors_no_root_cause() {
        let graph = ChainGraph::new(vec![span(1, 10, 0, 0, 10)]);
        assert!(graph.root_cause().is_none());
    }

    #[test]
    fn critical_path_crosses_queues_and_counts_the_wait() {
        let mut consumer_span = consumer(span(2, 20, 0, 50, 80), "m1");
        consumer_span.links = vec![(id16(1), id8(11))];
        consumer_span.cold_start = true;
        let graph = ChainGraph::new(vec![
            span(1, 10, 0, 0, 30),
            producer(span(1, 11, 10, 10, 20), "m1"),
            consumer_span,
            span(2, 21, 20, 60, 75),
        ]);
        let path = graph.critical_path();
        let summary: Vec<(String, u64)> = path
            .iter()
            .map(|step| match step {
                PathStep::Span { span, self_nanos } => (span.name.clone(), self_nanos / MS),
                PathStep::QueueWait { wait_nanos, .. } => ("queue".to_owned(), wait_nanos / MS),
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("span-10".to_owned(), 10),
                ("span-11".to_owned(), 10),
                ("queue".to_owned(), 30),
                ("span-20".to_owned(), 30),
            ]
        );
    }

    #[test]
    fn batch_consumer_waits_for_its_last_message() {
        let mut batch = consumer(span(3, 30, 0, 50, 60), "");
        batch.links = vec![(id16(1), id8(10)), (id16(2), id8(20))];
        let graph = ChainGraph::new(vec![span(1, 10, 0, 0, 10), span(2, 20, 0, 5, 40), batch]);
        let names: Vec<&str> = graph
            .critical_path()
            .iter()
            .filter_map(|step| match step {
                PathStep::Span { span, .. } => Some(span.name.as_str()),
                PathStep::QueueWait { .. } => None,
            })
            .collect();
        assert_eq!(names, vec!["span-20", "span-30"]);
    }
}
