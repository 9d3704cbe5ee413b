//! Guards in front of the pages, the JSON API and the Jaeger API (not the
//! health endpoints): a request timeout and a concurrency limit, as tower
//! layers. A request over either is answered 503 with `Retry-After` at
//! once, never queued without end, and counted in
//! `tracehouse_query_requests_rejected_total{reason}`.

use crate::error::ApiError;
use axum::error_handling::HandleErrorLayer;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::time::Duration;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;

/// Default `query_timeout_secs`: longer than ClickHouse's own
/// `max_execution_time`, so that one slow query is reported by it first.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `query_max_concurrency`.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// Labels of refused requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GuardLabels {
    /// `overloaded` or `timeout`.
    pub reason: &'static str,
}

/// The guards' settings and counter.
#[derive(Debug, Clone)]
pub struct QueryGuard {
    /// Longest time one request may take.
    pub timeout: Duration,
    /// Requests served at once; more are refused.
    pub max_concurrency: usize,
    rejected: Family<GuardLabels, Counter>,
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
        Self {
            timeout,
            max_concurrency: max_concurrency.max(1),
            rejected,
        }
    }

    /// `router` behind the timeout and the concurrency limit.
    pub fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let guard = self.clone();
        router.layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |error: BoxError| {
                    let guard = guard.clone();
                    async move { guard.refusal(&error) }
                }))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(self.max_concurrency))
                .timeout(self.timeout),
        )
    }

    fn refusal(&self, error: &BoxError) -> Response {
        let (reason, message) = if error.is::<tower::timeout::error::Elapsed>() {
            (
                "timeout",
                "the request took longer than query_timeout_secs: choose a shorter window or retry later",
            )
        } else {
            (
                "overloaded",
                "too many queries at once (query_max_concurrency): retry later",
            )
        };
        self.rejected.get_or_create(&GuardLabels { reason }).inc();
        let mut response = ApiError::unavailable(message).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        response
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
        guard.apply(Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "done"
            }),
        ))
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
    async fn one_request_over_the_limit_is_refused_at_once() {
        let mut registry = Registry::default();
        let guard = QueryGuard::register(&mut registry, Duration::from_secs(5), 1);
        let router = slow_router(&guard);
        let first = tokio::spawn(router.clone().oneshot(request()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        let second = router.clone().oneshot(request()).await.expect("infallible");
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_millis(200));
        assert_eq!(second.headers()[header::RETRY_AFTER], "1");
        let first = first.await.expect("joined").expect("infallible");
        assert_eq!(first.status(), StatusCode::OK);
        assert!(counted(&registry, "overloaded"));
        let third = router.oneshot(request()).await.expect("infallible");
        assert_eq!(third.status(), StatusCode::OK, "the permit came back");
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
