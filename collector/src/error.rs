//! Errors a receiver answers with, mapped once to HTTP and gRPC statuses.

use axum::http::StatusCode;

/// Seconds a client is asked to wait when the write path is saturated.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Why an export request was not (fully) accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The payload could not be decoded; nothing of it was stored.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The body is larger than the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The content type is neither protobuf nor JSON.
    #[error("unsupported content type {0:?}: use application/x-protobuf or application/json")]
    UnsupportedMediaType(String),
    /// The content encoding is not supported.
    #[error("unsupported content encoding {0:?}: use gzip or none")]
    UnsupportedEncoding(String),
    /// The body did not arrive in time.
    #[error("request body not received within {seconds} s")]
    BodyTimeout { seconds: u64 },
    /// The write queue is full; the client should retry later.
    #[error("the write path is saturated, retry later")]
    Saturated,
    /// The process is shutting down.
    #[error("the collector is shutting down, retry later")]
    ShuttingDown,
    /// A token is required and the request has no valid one; nothing was read.
    #[error("unauthenticated: {0}")]
    Unauthenticated(tracehouse_model::access::IngestRefusal),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl IngestError {
    /// The HTTP status for this error.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // 503 with Retry-After is retryable for OTLP/HTTP clients.
            Self::Saturated | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the client should retry (and an HTTP answer carries Retry-After).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Saturated | Self::ShuttingDown)
    }

    /// The message shown to the client: internal details stay in the log.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// The gRPC status for this error.
    pub fn grpc_status(&self) -> tonic::Status {
        let message = self.public_message();
        match self {
            Self::InvalidPayload(_)
            | Self::UnsupportedMediaType(_)
            | Self::UnsupportedEncoding(_) => tonic::Status::invalid_argument(message),
            // Not retryable: the same request will be too large again.
            Self::PayloadTooLarge { .. } => tonic::Status::out_of_range(message),
            Self::BodyTimeout { .. } => tonic::Status::deadline_exceeded(message),
            // UNAVAILABLE is retryable for OTLP/gRPC clients.
            Self::Saturated | Self::ShuttingDown => tonic::Status::unavailable(message),
            Self::Unauthenticated(_) => tonic::Status::unauthenticated(message),
            Self::Internal(_) => tonic::Status::internal(message),
        }
    }

    /// Logs internal errors with their details; client errors at debug level.
    pub fn log(&self) {
        match self {
            Self::Internal(details) => tracing::error!(details, "ingest failed"),
            other => tracing::debug!(error = %other, "ingest request refused"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_retryable_statuses_only_when_saturated() {
        assert_eq!(
            IngestError::Saturated.http_status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            IngestError::Saturated.grpc_status().code(),
            tonic::Code::Unavailable
        );
        assert!(IngestError::Saturated.is_retryable());
        let invalid = IngestError::InvalidPayload("bad".to_owned());
        assert_eq!(invalid.http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(invalid.grpc_status().code(), tonic::Code::InvalidArgument);
        assert!(!invalid.is_retryable());
        let internal = IngestError::Internal("secret detail".to_owned());
        assert!(!internal.grpc_status().message().contains("secret"));
    }
}
