//! Guards in front of the pages, the JSON API and the Jaeger API (not the
//! health endpoints): a concurrency limit with a short, bounded wait, and a
//! request timeout. A request that finds every slot taken waits for one, up
//! to [`QUEUE_WAIT`] and behind at most [`WAITING_PER_SLOT`] others per
//! slot; past either it is answered 503 with `Retry-After`. So a flood of
//! queries is served a few at a time (leaving the cores to ingest) and its
//! clients wait instead of retrying in a loop; nothing is queued without
//! end. Refusals are counted in `tracehouse_query_requests_rejected_total{reason}`.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default `query_timeout_secs`: longer than ClickHouse's own
/// `max_execution_time`, so that one slow query is reported by it first.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `query_max_concurrency`: few, so that on a small machine a
/// flood of dashboard queries leaves most of the CPU to ingest (the
/// managed ClickHouse runs each of the reader's queries on one thread).
pub const DEFAULT_MAX_CONCURRENCY: usize = 2;
/// Longest wait for a free slot before a request is answered 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(5);
/// Requests that may wait per slot; one more is answered 503 at once.
pub const WAITING_PER_SLOT: usize = 16;

/// Labels of refused requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GuardLabels {
    /// `overloaded` or `timeout`.
    pub reason: &'static str,
}

/// The guards' settings, slots and counter.
#[derive(Debug, Clone)]
pub struct QueryGuard {
    /// Longest time one request may take once it has a slot.
    pub timeout: Duration,
    /// Requests served at once; more wait briefly, then are refused.
    pub max_concurrency: usize,
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    rejected: Family<GuardLabels, Counter>,
}

/// One waiting request; counted out when it stops waiting, however it ends.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl QueryGuard {
    /// Guards with these bounds, their counter registered in `registry`.
    pub fn register(registry: &mut Registry, timeout: Duration, max_concurrency: usize) -> Self {
        let rejected = Family::<GuardLabels, Counter>::default();
        registry.register(
            "tracehouse_query_requests_rejected",
            "Page, API and Jaeger requests refused with 503 by the query guards, by reason",
            rejected.clone(),
        );
        for reason in ["overloaded", "timeout"] {
            let _shown_at_zero = rejected.get_or_create(&GuardLabels { reason });
        }
        let max_concurrency = max_concurrency.max(1);
        Self {
            timeout,
            max_concurrency,
            slots: Arc::new(Semaphore::new(max_concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            rejected,
        }
    }

    /// `router` behind the concurrency limit and the timeout.
    pub fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), admit))
    }

    /// A slot at once, or after a bounded wait; `None` when there is none.
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Some(permit);
        }
        let most_waiting = self.max_concurrency.saturating_mul(WAITING_PER_SLOT);
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= most_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _waiting = Waiting(self.waiting.clone());
        let wait = QUEUE_WAIT.min(self.timeout);
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            Ok(Err(_)) | Err(_) => None,
        }
    }

    fn refusal(&self, reason: &'static str) -> Response {
        let message = match reason {
            "timeout" => "the request took longer than query_timeout_secs: choose a shorter window or retry later",
            _ => "too many queries at once (query_max_concurrency): retry later",
        };
        self.rejected.get_or_create(&GuardLabels { reason }).inc();
        let mut response = ApiError::unavailable(message).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        response
    }
}

/// The middleware: a slot, then the request within its time.
async fn admit(State(guard): State<QueryGuard>, request: Request, next: Next) -> Response {
    let Some(_slot) = guard.slot().await else {
        return guard.refusal("overloaded");
    };
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => guard.refusal("timeout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    fn slow_router(guard: &QueryGuard) -> Router {
        // A fallback, not a route: the app's route table lists only its own routes.
        guard.apply(Router::new().fallback(get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        })))
    }

    fn request() -> Request<Body> {
        Request::get("/slow").body(Body::empty()).expect("request")
    }

    fn counted(registry: &Registry, reason: &str) -> bool {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
        text.contains(&format!(
            "tracehouse_query_requests_rejected_total{{reason=\"{reason}\"}} 1"
        ))
    }

    #[tokio::test]
    async fn requests_over_the_limit_wait_and_one_past_the_waiting_bound_is_refused_at_once() {
        let mut registry = Registry::default();
        let guard = QueryGuard::register(&mut registry, Duration::from_secs(5), 1);
        let router = slow_router(&guard);
        let queued: Vec<_> = (0..=WAITING_PER_SLOT)
            .map(|_| tokio::spawn(router.clone().oneshot(request())))
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        let refused = router.clone().oneshot(request()).await.expect("infallible");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_millis(200));
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert!(counted(&registry, "overloaded"));
        let mut served = 0;
        for request in queued {
            let response = request.await.expect("joined").expect("infallible");
            served += usize::from(response.status() == StatusCode::OK);
        }
        // One at a time, 400 ms each: waiters beyond QUEUE_WAIT are refused.
        assert!(served >= 2, "waiters were served: {served}");
        assert_eq!(
            guard.waiting.load(Ordering::Acquire),
            0,
            "every waiter counted out"
        );
        let again = router.oneshot(request()).await.expect("infallible");
        assert_eq!(again.status(), StatusCode::OK, "the slot came back");
    }

    #[tokio::test]
    async fn a_request_over_its_time_is_a_503() {
        let mut registry = Registry::default();
        let guard = QueryGuard::register(&mut registry, Duration::from_millis(50), 4);
        let response = slow_router(&guard)
            .oneshot(request())
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("query_timeout_secs"), "{text}");
        assert!(counted(&registry, "timeout"));
    }
}
