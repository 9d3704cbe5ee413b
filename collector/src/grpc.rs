//! OTLP/gRPC transport: tonic services that delegate to the ingest services.

use crate::error::IngestError;
use crate::service::{outcome_label, OtlpService};
use crate::traces::TraceIngest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::future::Future;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tracehouse_model::ProjectId;

const TRANSPORT: &str = "grpc";

/// Runs one export through a service and maps the result to gRPC.
async fn export_grpc<S: OtlpService>(
    service: &S,
    request: S::Request,
) -> Result<Response<S::Response>, Status> {
    let result = service.export(ProjectId::default(), request).await;
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
}

/// The gRPC face of [`TraceIngest`].
#[derive(Clone)]
pub struct GrpcTraces(TraceIngest);

#[tonic::async_trait]
impl TraceService for GrpcTraces {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        export_grpc(&self.0, request.into_inner()).await
    }
}

/// The ingest services served over gRPC.
#[derive(Clone)]
pub struct GrpcReceivers {
    pub traces: TraceIngest,
}

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves, then finishes
/// the requests in flight. Accepts and answers gzip.
pub async fn serve(
    listener: TcpListener,
    receivers: GrpcReceivers,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), IngestError> {
    let max_message_bytes = receivers.traces.limits().max_request_bytes;
    let traces = TraceServiceServer::new(GrpcTraces(receivers.traces))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    tonic::transport::Server::builder()
        .add_service(traces)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
        .map_err(|error| IngestError::Internal(format!("gRPC server failed: {error}")))
}
