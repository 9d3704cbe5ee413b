//! The JSON query API under `/api/v1`.

pub mod traces;

use crate::AppState;
use axum::routing::get;
use axum::Router;

/// Routes of the query API.
pub fn router() -> Router<AppState> {
    Router::new().route("/traces/{trace_id}", get(traces::get_trace))
}
