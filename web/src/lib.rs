//! The HTTP face of the read side: the JSON query API, health and metrics
//! endpoints, and the server-rendered dashboard.

pub mod access;
pub mod api;
pub mod dashboard;
pub mod error;
pub mod guard;
pub mod health;
pub mod jaeger;
pub mod query_runtime;
pub mod session;
pub mod session_limit;

pub use error::ApiError;
pub use guard::QueryGuard;

use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use tracehouse_query::QueryService;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The read side.
    pub query: QueryService,
    /// Every metric of the process, for `/metrics`.
    pub registry: Arc<Registry>,
    /// Addresses shown on the dashboard's home page.
    pub endpoints: Endpoints,
    /// The access rules in force (see [`access::protect`]).
    pub access: tracehouse_model::access::SharedAccess,
    /// The declared dashboards: overview, function page, user dashboards.
    pub dashboards: Arc<dashboard::declared::Dashboards>,
    /// The writer tasks' states, for `/readyz` (none without the collector role).
    pub writers: tracehouse_collector::supervise::WriterStates,
}

/// Where the receivers listen, as shown to users.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Endpoints {
    pub otlp_grpc: String,
    pub otlp_http: String,
}

fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
}

/// Health and metrics only, for processes that run just the collector role.
pub fn health_router(state: AppState) -> Router {
    health_routes()
        .fallback(error::not_found_fallback)
        .with_state(state)
}

/// Every route of the query API, health endpoints and dashboard; pages and
/// APIs behind `guard`'s timeout and concurrency limit.
pub fn router(state: AppState, guard: &QueryGuard) -> Router {
    let pages_and_api = guard.apply(
        Router::new()
            .merge(dashboard::routes())
            .nest("/api/v1", api::router())
            .nest("/jaeger/api", jaeger::router()),
    );
    health_routes()
        .merge(pages_and_api)
        .fallback(dashboard::not_found_fallback)
        .with_state(state)
        .layer(axum::middleware::map_response(
            dashboard::assets::security_headers,
        ))
}
