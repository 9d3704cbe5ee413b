//! The JSON query API under `/api/v1`.

pub mod alerts;
pub mod chains;
pub mod functions;
pub mod map;
pub mod search;
pub mod services;
pub mod step;
pub mod traces;
pub mod window;

use crate::AppState;
use axum::routing::get;
use axum::Router;

/// Routes of the query API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/traces/{trace_id}", get(traces::get_trace))
        .route("/traces", get(search::search_traces))
        .route("/chains/broken", get(chains::get_broken_chains))
        .route("/chains/{trace_id}", get(chains::get_chain))
        .route("/services", get(services::get_services))
        .route(
            "/services/{service}/operations",
            get(services::get_operations),
        )
        .route("/map", get(map::get_map))
        .route("/functions", get(functions::list_functions))
        .route(
            "/functions/{function}/timeseries",
            get(functions::function_timeseries),
        )
        .route("/coldstarts", get(functions::cold_starts))
}
