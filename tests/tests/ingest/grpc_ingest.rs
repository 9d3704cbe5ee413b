//! OTLP/gRPC with a raw tonic client: gzip, malformed messages, partial success.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tonic::codec::CompressionEncoding;
use tracehouse_tests::{now_unix_nanos, TestApp};

/// A message whose field 1 has the wrong wire type for `resource_spans`.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAnExportRequest {
    #[prost(uint64, tag = "1")]
    resource_spans: u64,
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_gzip_partial_success_and_malformed_messages() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut client = TraceServiceClient::connect(app.otlp_grpc_url())
        .await?
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let start = now_unix_nanos();
    let span = |trace_id: Vec<u8>, span_id: Vec<u8>| Span {
        trace_id,
        span_id,
        name: "handler".to_owned(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 2_000,
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span(vec![9; 16], vec![1; 8]), span(vec![9; 12], vec![2; 8])],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let response: ExportTraceServiceResponse = client.export(request).await?.into_inner();
    let partial = response.partial_success.expect("one span was rejected");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("invalid_trace_id"),
        "{}",
        partial.error_message
    );
    let trace = app.wait_for_trace(&"09".repeat(16), 1).await?;
    assert_eq!(trace["spans"][0]["service"], "unknown_service");

    // A body that is not an ExportTraceServiceRequest: INVALID_ARGUMENT, not INTERNAL.
    let channel = tonic::transport::Endpoint::from_shared(app.otlp_grpc_url())?
        .connect()
        .await?;
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await?;
    let path = http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let status = raw
        .unary::<NotAnExportRequest, ExportTraceServiceResponse, _>(
            tonic::Request::new(NotAnExportRequest { resource_spans: 7 }),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("malformed message");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("could not be decoded"),
        "{}",
        status.message()
    );
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"traces\",transport=\"grpc\",outcome=\"partial\"}")
            .await?,
        1.0
    );
    app.stop().await
}
