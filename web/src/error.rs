//! API errors: one mapping from query errors to HTTP, JSON bodies
//! `{"error": "..."}`, internal details logged and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehouse_query::QueryError;

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// 400 with a message naming the bad parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 404 for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("{} not found", what.into()),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound(_) | QueryError::BadRequest(_) => Self {
                status: match error {
                    QueryError::NotFound(_) => StatusCode::NOT_FOUND,
                    _ => StatusCode::BAD_REQUEST,
                },
                message: error.to_string(),
            },
            QueryError::Storage(source) => {
                tracing::error!(error = %source, "query failed");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: "storage is unavailable, retry later".to_owned(),
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// JSON 404 for unknown paths.
pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("path {}", uri.path()))
}
