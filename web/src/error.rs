//! Errors answered over HTTP: the one mapping from query errors to a status
//! and the message a client sees (internal details logged, never shown).
//! The JSON API answers `{"error": "..."}`, the Jaeger API its envelope and
//! pages an HTML page, all from an [`ApiError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehouse_query::{QueryError, StorageLimit};

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

    /// 503: the query side cannot answer now; the client may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 401: the request has no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// 500 without details (they are logged where the error arises).
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".to_owned(),
        }
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
        let status = match &error {
            QueryError::NotFound(_) => StatusCode::NOT_FOUND,
            QueryError::BadRequest(_) => StatusCode::BAD_REQUEST,
            QueryError::Template(problem) => {
                tracing::error!(%problem, "query template and binds disagree");
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "internal error".to_owned(),
                };
            }
            QueryError::Storage(source) => {
                if let Some(limit) = error.storage_limit() {
                    tracing::warn!(error = %source, ?limit, "query stopped by a limit");
                    return Self::from(limit);
                }
                tracing::error!(error = %source, "query failed");
                return Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: "storage is unavailable, retry later".to_owned(),
                };
            }
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl From<StorageLimit> for ApiError {
    /// A query stopped by its bounds: 400 when a narrower query would pass,
    /// 503 when the server is busy or the query ran out of time.
    fn from(limit: StorageLimit) -> Self {
        let (status, message) = match limit {
            StorageLimit::TooManyRows => (
                StatusCode::BAD_REQUEST,
                "the query would read or return more rows than allowed \
                 (query_max_rows_to_read, query_max_result_rows): choose a shorter window or narrower filters",
            ),
            StorageLimit::TooSlow => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the query took longer than allowed (query_max_execution_secs): \
                 choose a shorter window or narrower filters, or retry later",
            ),
            StorageLimit::OutOfMemory => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the query needed more memory than ClickHouse allows: choose a shorter window or retry later",
            ),
            StorageLimit::TooManyQueries => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ClickHouse is running too many queries: retry later",
            ),
        };
        Self {
            status,
            message: message.to_owned(),
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
