//! The simulated application as a benchmark workload: its spans, generated
//! once into a pool of OTLP trace requests of about a given size, and
//! replayed as many times as a run needs. Each pass through the pool gets
//! its own trace ids and message ids, so every span and message sent is
//! distinct and a run can last as long as it likes without holding all its
//! spans in memory.

use crate::App;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::fmt::Write;

const SECOND: u64 = 1_000_000_000;
/// Simulated time covered by one step of the application while filling the pool.
const STEP: u64 = 20 * SECOND;
/// Orders a second at the peak of the simulated traffic.
const ORDERS_PER_SECOND: f64 = 40.0;

/// A pool of trace requests, replayed pass after pass.
#[derive(Debug, Clone)]
pub struct Workload {
    requests: Vec<ExportTraceServiceRequest>,
    spans: u64,
}

impl Workload {
    /// A pool of at least `spans` spans of the simulated application (seed
    /// `seed`), in requests of about `spans_per_request` spans each, whose
    /// simulated time ends at `end_unix_nano`.
    pub fn generate(seed: u64, spans: u64, spans_per_request: usize, end_unix_nano: u64) -> Self {
        let spans_per_request = spans_per_request.max(1);
        let mut app = App::new(seed, end_unix_nano);
        let mut packer = Packer::new(spans_per_request);
        // Simulated time runs back from the end until the pool is full.
        let mut to = end_unix_nano;
        while packer.spans < spans && to > STEP {
            let (traces, _logs, _metrics) =
                app.step(to - STEP, to, ORDERS_PER_SECOND).into_requests();
            for resource_spans in traces
                .into_iter()
                .flat_map(|request| request.resource_spans)
            {
                packer.add(resource_spans);
            }
            to -= STEP;
        }
        let (requests, spans) = packer.finish();
        Self { requests, spans }
    }

    /// Requests in one pass.
    pub fn requests_per_pass(&self) -> u64 {
        self.requests.len() as u64
    }

    /// Spans in one pass.
    pub fn spans_per_pass(&self) -> u64 {
        self.spans
    }

    /// Request number `index` of the endless replay: request
    /// `index % requests_per_pass` of the pool, with the trace ids of pass
    /// `index / requests_per_pass`. `None` only for an empty pool.
    pub fn request(&self, index: u64) -> Option<ExportTraceServiceRequest> {
        let per_pass = self.requests_per_pass();
        let template = self
            .requests
            .get(usize::try_from(index % per_pass.max(1)).ok()?)?;
        let pass = index / per_pass.max(1);
        let mut request = template.clone();
        if pass > 0 {
            relabel(&mut request, pass);
        }
        Some(request)
    }

    /// Spans in request number `index` of the replay.
    pub fn spans_in(&self, index: u64) -> u64 {
        let per_pass = self.requests_per_pass().max(1);
        usize::try_from(index % per_pass)
            .ok()
            .and_then(|position| self.requests.get(position))
            .map_or(0, span_count)
    }
}

/// Spans in a trace request.
pub fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len() as u64)
        .sum()
}

/// The attribute that names the message a span publishes or consumes.
const MESSAGE_ID: &str = "messaging.message.id";

/// Gives every trace id of `request` (span and link) and every message id
/// the ids of pass `pass`.
fn relabel(request: &mut ExportTraceServiceRequest, pass: u64) {
    let spans = request
        .resource_spans
        .iter_mut()
        .flat_map(|resource| &mut resource.scope_spans)
        .flat_map(|scope| &mut scope.spans);
    for span in spans {
        relabel_trace_id(&mut span.trace_id, pass);
        for link in &mut span.links {
            relabel_trace_id(&mut link.trace_id, pass);
        }
        let message_ids = span
            .attributes
            .iter_mut()
            .filter(|attribute| attribute.key == MESSAGE_ID)
            .filter_map(|attribute| attribute.value.as_mut()?.value.as_mut());
        for value in message_ids {
            if let Value::StringValue(id) = value {
                let _ = write!(id, "-{pass}");
            }
        }
    }
}

/// Turns a trace id of the pool into its id in pass `pass`: the last eight
/// bytes are XORed with the pass number.
pub fn relabel_trace_id(trace_id: &mut [u8], pass: u64) {
    if let Some(tail) = trace_id.get_mut(8..16) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(tail);
        tail.copy_from_slice(&(u64::from_be_bytes(bytes) ^ pass).to_be_bytes());
    }
}

/// Packs resource groups into requests of about `target` spans, cutting a
/// group's spans where a request is full.
struct Packer {
    target: usize,
    requests: Vec<ExportTraceServiceRequest>,
    current: ExportTraceServiceRequest,
    current_spans: usize,
    spans: u64,
}

impl Packer {
    fn new(target: usize) -> Self {
        Self {
            target,
            requests: Vec::new(),
            current: ExportTraceServiceRequest::default(),
            current_spans: 0,
            spans: 0,
        }
    }

    fn add(&mut self, mut resource_spans: ResourceSpans) {
        let scopes = std::mem::take(&mut resource_spans.scope_spans);
        for mut scope in scopes {
            let mut spans: Vec<Span> = std::mem::take(&mut scope.spans);
            while !spans.is_empty() {
                let room = self.target - self.current_spans;
                let rest = spans.split_off(room.min(spans.len()));
                self.push(&resource_spans, &scope, spans);
                spans = rest;
            }
        }
    }

    fn push(&mut self, resource: &ResourceSpans, scope: &ScopeSpans, spans: Vec<Span>) {
        let count = spans.len();
        self.current.resource_spans.push(ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..scope.clone()
            }],
            ..resource.clone()
        });
        self.current_spans += count;
        self.spans += count as u64;
        if self.current_spans >= self.target {
            self.requests.push(std::mem::take(&mut self.current));
            self.current_spans = 0;
        }
    }

    fn finish(mut self) -> (Vec<ExportTraceServiceRequest>, u64) {
        if self.current_spans > 0 {
            self.requests.push(self.current);
        }
        (self.requests, self.spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const END: u64 = 1_764_000_000_000_000_000;

    #[test]
    fn requests_have_the_asked_size_and_passes_distinct_trace_ids() {
        let workload = Workload::generate(3, 5_000, 500, END);
        assert!(workload.spans_per_pass() >= 5_000);
        let per_pass = workload.requests_per_pass();
        let sizes: Vec<u64> = (0..per_pass)
            .map(|index| workload.spans_in(index))
            .collect();
        assert!(
            sizes[..sizes.len() - 1].iter().all(|size| *size == 500),
            "{sizes:?}"
        );
        assert_eq!(sizes.iter().sum::<u64>(), workload.spans_per_pass());

        let ids = |pass: u64| -> BTreeSet<(Vec<u8>, Vec<u8>)> {
            (pass * per_pass..(pass + 1) * per_pass)
                .filter_map(|index| workload.request(index))
                .flat_map(|request| request.resource_spans)
                .flat_map(|resource| resource.scope_spans)
                .flat_map(|scope| scope.spans)
                .map(|span| (span.trace_id, span.span_id))
                .collect()
        };
        let (first, second) = (ids(0), ids(1));
        assert_eq!(first.len() as u64, workload.spans_per_pass());
        assert_eq!(second.len(), first.len());
        assert!(first.is_disjoint(&second));
        assert_eq!(workload.request(0), workload.request(0));
    }

    #[test]
    fn passes_publish_distinct_messages() {
        let workload = Workload::generate(3, 5_000, 500, END);
        let per_pass = workload.requests_per_pass();
        let messages = |pass: u64| -> BTreeSet<String> {
            (pass * per_pass..(pass + 1) * per_pass)
                .filter_map(|index| workload.request(index))
                .flat_map(|request| request.resource_spans)
                .flat_map(|resource| resource.scope_spans)
                .flat_map(|scope| scope.spans)
                .flat_map(|span| span.attributes)
                .filter(|attribute| attribute.key == MESSAGE_ID)
                .filter_map(|attribute| match attribute.value?.value? {
                    Value::StringValue(id) => Some(id),
                    _ => None,
                })
                .collect()
        };
        let (first, second) = (messages(0), messages(1));
        assert!(!first.is_empty());
        assert_eq!(first.len(), second.len());
        assert!(first.is_disjoint(&second));
    }
}
