//! OTLP/gRPC transport. One generic tonic service serves the `Export` method
//! of any [`OtlpService`]; it differs from the generated servers in one
//! way: a body that does not decode is answered with `INVALID_ARGUMENT`
//! (what OTLP asks for malformed data) rather than tonic's `INTERNAL`.

use crate::access::request_project;
use crate::error::IngestError;
use crate::logs::LogIngest;
use crate::metric_points::MetricIngest;
use crate::service::{outcome_label, OtlpService, OUTCOME_TOO_LARGE};
use crate::traces::TraceIngest;
use bytes::{Buf, Bytes};
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::transport::server::{Connected, TcpIncoming};
use tonic::{Request, Response, Status};
use tracehouse_model::access::SharedAccess;
use tracehouse_model::ProjectId;

const TRANSPORT: &str = "grpc";

/// The `Export` method of one OTLP service as a tower service.
pub struct OtlpGrpcService<S> {
    service: S,
    max_decoding_message_size: usize,
    /// Requests in progress, shared by the services of one server.
    in_progress: Arc<Semaphore>,
    access: SharedAccess,
}

impl<S: Clone> Clone for OtlpGrpcService<S> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            max_decoding_message_size: self.max_decoding_message_size,
            in_progress: self.in_progress.clone(),
            access: self.access.clone(),
        }
    }
}

impl<S: OtlpService> OtlpGrpcService<S> {
    /// Serves `service`, refusing messages larger than `max_decoding_message_size`
    /// and requests without a token `access` accepts, and answering
    /// `UNAVAILABLE` while `in_progress` has no permit left.
    pub fn new(
        service: S,
        max_decoding_message_size: usize,
        access: SharedAccess,
        in_progress: Arc<Semaphore>,
    ) -> Self {
        Self {
            service,
            max_decoding_message_size,
            access,
            in_progress,
        }
    }
}

impl<S: OtlpService> NamedService for OtlpGrpcService<S> {
    const NAME: &'static str = S::GRPC_SERVICE;
}

impl<S, B> tower::Service<http::Request<B>> for OtlpGrpcService<S>
where
    S: OtlpService,
    B: http_body::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let is_export = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| path.strip_prefix(S::GRPC_SERVICE))
            == Some("/Export");
        if !is_export {
            return Box::pin(async { Ok(Status::unimplemented("unknown method").into_http()) });
        }
        let project = match request_project(&self.access, request.headers()) {
            Ok(project) => project,
            Err(error) => {
                error.log();
                let outcome = outcome_label(Err(&error));
                self.service
                    .metrics()
                    .request(S::SIGNAL, TRANSPORT, outcome);
                let status = error.grpc_status();
                return Box::pin(async move { Ok(status.into_http()) });
            }
        };
        let Ok(permit) = self.in_progress.clone().try_acquire_owned() else {
            self.service.metrics().request(
                S::SIGNAL,
                TRANSPORT,
                outcome_label(Err(&IngestError::Saturated)),
            );
            return Box::pin(async { Ok(IngestError::Saturated.grpc_status().into_http()) });
        };
        let method = ExportMethod(self.service.clone(), project);
        let service = self.service.clone();
        let max_decoding_message_size = self.max_decoding_message_size;
        Box::pin(async move {
            let mut compression = EnabledCompressionEncodings::default();
            compression.enable(CompressionEncoding::Gzip);
            let mut grpc = Grpc::new(OtlpCodec::<S>::default())
                .apply_compression_config(compression, compression)
                .apply_max_message_size_config(Some(max_decoding_message_size), None);
            let mut response = grpc.unary(method, request).await;
            // Tonic refuses a message over the limit before the service
            // runs: OUT_OF_RANGE, or RESOURCE_EXHAUSTED when the limit is
            // hit while decompressing. Answer both alike, and count them
            // here (the service never answers either code itself).
            if has_grpc_status(&response, tonic::Code::ResourceExhausted) {
                response.headers_mut().insert(
                    "grpc-status",
                    http::HeaderValue::from(tonic::Code::OutOfRange as i32),
                );
            }
            if has_grpc_status(&response, tonic::Code::OutOfRange) {
                service
                    .metrics()
                    .request(S::SIGNAL, TRANSPORT, OUTCOME_TOO_LARGE);
            }
            drop(permit);
            Ok(response)
        })
    }
}

/// Whether a (trailers-only) response carries `code` in its headers.
fn has_grpc_status<B>(response: &http::Response<B>, code: tonic::Code) -> bool {
    response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        == Some(code as i32)
}

/// Calls the ingest service and maps its result to gRPC.
struct ExportMethod<S>(S, ProjectId);

impl<S: OtlpService> UnaryService<Received<S::Request>> for ExportMethod<S> {
    type Response = S::Response;
    type Future = Pin<Box<dyn Future<Output = Result<Response<S::Response>, Status>> + Send>>;

    fn call(&mut self, request: Request<Received<S::Request>>) -> Self::Future {
        let service = self.0.clone();
        let project = self.1.clone();
        Box::pin(async move {
            let Received { message, protobuf } = request.into_inner();
            let result = service.export(project, message, Some(protobuf)).await;
            service
                .metrics()
                .request(S::SIGNAL, TRANSPORT, outcome_label(result.as_ref()));
            match result {
                Ok(outcome) => Ok(Response::new(S::response(&outcome))),
                Err(error) => {
                    error.log();
                    Err(error.grpc_status())
                }
            }
        })
    }
}

/// A decoded request and the protobuf bytes it came as.
struct Received<M> {
    message: M,
    protobuf: Bytes,
}

/// Prost encoding, with decode errors reported as `INVALID_ARGUMENT`, and
/// requests decoded with their bytes.
struct OtlpCodec<S>(PhantomData<S>);

impl<S> Default for OtlpCodec<S> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<S: OtlpService> Codec for OtlpCodec<S> {
    type Encode = S::Response;
    type Decode = Received<S::Request>;
    type Encoder = tonic_prost::ProstEncoder<S::Response>;
    type Decoder = InvalidArgumentDecoder<S::Request>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidArgumentDecoder(PhantomData)
    }
}

/// A prost decoder whose errors are the client's fault.
struct InvalidArgumentDecoder<M>(PhantomData<M>);

impl<M: prost::Message + Default> Decoder for InvalidArgumentDecoder<M> {
    type Item = Received<M>;
    type Error = Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<Received<M>>, Status> {
        // The message's bytes, shared with the receive buffer (no copy).
        let protobuf = buffer.copy_to_bytes(buffer.remaining());
        match M::decode(protobuf.clone()) {
            Ok(message) => Ok(Some(Received { message, protobuf })),
            Err(error) => Err(IngestError::InvalidPayload(format!(
                "protobuf body could not be decoded: {error}"
            ))
            .grpc_status()),
        }
    }
}

/// The ingest services served over gRPC.
#[derive(Clone)]
pub struct GrpcReceivers {
    pub traces: TraceIngest,
    pub metrics: MetricIngest,
    pub logs: LogIngest,
    /// The ingest tokens in force.
    pub access: SharedAccess,
}

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves, then finishes
/// the requests in flight. Accepts and answers gzip.
pub async fn serve(
    listener: TcpListener,
    receivers: GrpcReceivers,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), IngestError> {
    serve_incoming(TcpIncoming::from(listener), receivers, shutdown).await
}

/// [`serve`] on connections from elsewhere (TLS streams, say).
pub async fn serve_incoming<I, IO, IE>(
    incoming: I,
    receivers: GrpcReceivers,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), IngestError>
where
    I: tonic::codegen::tokio_stream::Stream<Item = Result<IO, IE>>,
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<tonic::codegen::StdError>,
{
    let limits = receivers.traces.limits();
    let max_message_bytes = limits.max_request_bytes;
    let in_progress = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
    tonic::transport::Server::builder()
        .add_service(OtlpGrpcService::new(
            receivers.traces,
            max_message_bytes,
            receivers.access.clone(),
            in_progress.clone(),
        ))
        .add_service(OtlpGrpcService::new(
            receivers.metrics,
            max_message_bytes,
            receivers.access.clone(),
            in_progress.clone(),
        ))
        .add_service(OtlpGrpcService::new(
            receivers.logs,
            max_message_bytes,
            receivers.access,
            in_progress,
        ))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|error| IngestError::Internal(format!("gRPC server failed: {error}")))
}
