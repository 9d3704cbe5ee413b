//! The JSON query API under `/api/v1`.

pub mod functions;
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
        .route("/functions", get(functions::list_functions))
        .route(
            "/functions/{function}/timeseries",
            get(functions::function_timeseries),
        )
        .route("/coldstarts", get(functions::cold_starts))
}
