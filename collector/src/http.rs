//! OTLP/HTTP transport: `POST /v1/traces` (and the other signals), protobuf
//! or JSON, optionally gzip-compressed; responses in the request's format.

use crate::access::request_project;
use crate::error::{IngestError, RETRY_AFTER_SECONDS};
use crate::logs::LogIngest;
use crate::metric_points::MetricIngest;
use crate::otlp::decode::{
    decode_message, decompress, decompress_small, encode_message, BodyFormat,
    DECODE_OFF_RUNTIME_BYTES,
};
use crate::service::{outcome_label, OtlpService};
use crate::traces::TraceIngest;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracehouse_model::access::SharedAccess;
use tracehouse_model::ProjectId;

const TRANSPORT: &str = "http";

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The ingest services served over HTTP.
#[derive(Clone)]
pub struct HttpReceivers {
    pub traces: TraceIngest,
    pub metrics: MetricIngest,
    pub logs: LogIngest,
    /// The ingest tokens in force.
    pub access: SharedAccess,
}

/// The OTLP/HTTP routes.
pub fn router(receivers: HttpReceivers) -> Router {
    let limits = receivers.traces.limits();
    let max_request_bytes = limits.max_request_bytes;
    let body_read_timeout = limits.body_read_timeout;
    // One budget of requests in progress for every signal.
    let in_progress = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
    let receiver = Receiver {
        max_request_bytes,
        body_read_timeout,
        in_progress,
        access: receivers.access.clone(),
    };
    Router::new()
        .route(
            "/v1/traces",
            post(export_http::<TraceIngest>).with_state(receiver.state(receivers.traces)),
        )
        .route(
            "/v1/metrics",
            post(export_http::<MetricIngest>).with_state(receiver.state(receivers.metrics)),
        )
        .route(
            "/v1/logs",
            post(export_http::<LogIngest>).with_state(receiver.state(receivers.logs)),
        )
}

/// What every signal's route shares.
#[derive(Clone)]
struct Receiver {
    max_request_bytes: usize,
    body_read_timeout: Duration,
    in_progress: Arc<Semaphore>,
    /// The ingest tokens in force.
    access: SharedAccess,
}

impl Receiver {
    fn state<S>(&self, service: S) -> HttpState<S> {
        HttpState {
            service,
            receiver: self.clone(),
        }
    }
}

#[derive(Clone)]
struct HttpState<S> {
    service: S,
    receiver: Receiver,
}

async fn export_http<S: OtlpService>(
    State(state): State<HttpState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Answer in the request's format when it is known, else in JSON.
    let format = BodyFormat::from_content_type(header_text(&headers, header::CONTENT_TYPE));
    let response_format = format.as_ref().copied().unwrap_or(BodyFormat::Json);
    // Over the concurrency limit: "retry later", before reading the body.
    let permit = state.receiver.in_progress.clone().try_acquire_owned();
    let project = request_project(&state.receiver.access, &headers);
    let result = match (project, format, permit) {
        (Err(error), _, _) => Err(error),
        (_, _, Err(_no_room)) => Err(IngestError::Saturated),
        (Ok(project), Ok(format), Ok(_permit)) => {
            export_body(&state, project, &headers, body, format).await
        }
        (_, Err(error), Ok(_)) => Err(error),
    };
    state.service.metrics().request(
        S::SIGNAL,
        TRANSPORT,
        outcome_label(result.as_ref().map(|(outcome, _)| outcome)),
    );
    match result {
        Ok((_, response)) => encoded_response(StatusCode::OK, &response, response_format),
        Err(error) => error_response(&error, response_format),
    }
}

async fn export_body<S: OtlpService>(
    state: &HttpState<S>,
    project: ProjectId,
    headers: &HeaderMap,
    body: Body,
    format: BodyFormat,
) -> Result<(crate::service::ExportOutcome, S::Response), IngestError> {
    let limit = state.receiver.max_request_bytes;
    let timeout = state.receiver.body_read_timeout;
    let body = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_elapsed| IngestError::BodyTimeout {
            seconds: timeout.as_secs(),
        })?
        .map_err(|_| IngestError::PayloadTooLarge { limit })?;
    let encoding = header_text(headers, header::CONTENT_ENCODING).map(str::to_owned);
    // Where to decode is decided by the decompressed size.
    let inline_cap = limit.min(DECODE_OFF_RUNTIME_BYTES);
    let (request, decompressed) = match decompress_small(&body, encoding.as_deref(), inline_cap)? {
        Some(small) => (decode_message(&small, format)?, small),
        None => tokio::task::spawn_blocking(move || {
            decode_body::<S>(body, encoding.as_deref(), format, limit)
        })
        .await
        .map_err(|error| IngestError::Internal(format!("decode task failed: {error}")))??,
    };
    // A protobuf body is logged as it came; a JSON one is encoded for the log.
    let received = (format == BodyFormat::Protobuf).then_some(decompressed);
    let outcome = state.service.export(project, request, received).await?;
    let response = S::response(&outcome);
    Ok((outcome, response))
}

fn decode_body<S: OtlpService>(
    body: Bytes,
    encoding: Option<&str>,
    format: BodyFormat,
    limit: usize,
) -> Result<(S::Request, Bytes), IngestError> {
    let body = decompress(body, encoding, limit)?;
    Ok((decode_message(&body, format)?, body))
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn encoded_response<M>(status: StatusCode, message: &M, format: BodyFormat) -> Response
where
    M: prost::Message + serde::Serialize,
{
    match encode_message(message, format) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, format.content_type())],
            bytes,
        )
            .into_response(),
        Err(error) => {
            error.log();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn error_response(error: &IngestError, format: BodyFormat) -> Response {
    error.log();
    let status = RpcStatus {
        code: error.grpc_status().code() as i32,
        message: error.public_message(),
    };
    let mut response = encoded_response(error.http_status(), &status, format);
    if matches!(error, IngestError::Unauthenticated(_)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if error.is_retryable() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}
