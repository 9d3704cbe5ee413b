//! The Rust OpenTelemetry SDK (`opentelemetry-otlp`) exports to Tracehouse over
//! gRPC (gzip), HTTP/protobuf (gzip) and HTTP/JSON; every field comes back.

use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value as OtelValue};
use opentelemetry_otlp::{
    Compression, Protocol, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracehouse_tests::TestApp;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

fn exporter(app: &TestApp, transport: Transport) -> anyhow::Result<SpanExporter> {
    Ok(match transport {
        Transport::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_endpoint(app.otlp_grpc_url())
            .with_compression(Compression::Gzip)
            .build()?,
        Transport::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", app.otlp_http_url()))
            .with_protocol(Protocol::HttpBinary)
            .with_compression(Compression::Gzip)
            .build()?,
        Transport::HttpJson => SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", app.otlp_http_url()))
            .with_protocol(Protocol::HttpJson)
            .build()?,
    })
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
}

/// What the test sent, to compare with what comes back.
struct SentTrace {
    trace_id: String,
    root_span_id: String,
    child_span_id: String,
    root_start: u64,
    root_end: u64,
    event_time: u64,
    linked_trace_id: String,
    linked_span_id: String,
}

fn send_trace(provider: &SdkTracerProvider, service_tag: &str) -> SentTrace {
    let tracer = provider.tracer_with_scope(
        InstrumentationScope::builder("checkout-lib")
            .with_version("2.1.0")
            .build(),
    );
    let linked = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex"),
        opentelemetry::trace::SpanId::from_hex("b7ad6b7169203331").expect("hex"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let root_start = tracehouse_model::time::now() - Duration::from_millis(50);
    let root_end = root_start + Duration::from_millis(42);
    let event_time = root_start + Duration::from_millis(5);
    let mut root = tracer
        .span_builder("POST /checkout")
        .with_kind(SpanKind::Server)
        .with_start_time(root_start)
        .with_attributes(vec![
            KeyValue::new("http.route", "/checkout"),
            KeyValue::new("http.status_code", 502i64),
            KeyValue::new("retry.ratio", 0.75f64),
            KeyValue::new("cache.hit", false),
            KeyValue::new("service.tag", service_tag.to_owned()),
            KeyValue::new(
                "tags",
                OtelValue::Array(Array::String(vec![
                    StringValue::from("a"),
                    StringValue::from("b"),
                ])),
            ),
            KeyValue::new("sizes", OtelValue::Array(Array::I64(vec![1, 2, 3]))),
            KeyValue::new("weights", OtelValue::Array(Array::F64(vec![0.5, 1.5]))),
            KeyValue::new("flags", OtelValue::Array(Array::Bool(vec![true, false]))),
        ])
        .with_links(vec![Link::new(
            linked.clone(),
            vec![KeyValue::new("messaging.message.id", "msg-7")],
            0,
        )])
        .start(&tracer);
    root.add_event_with_timestamp(
        "exception",
        event_time,
        vec![
            KeyValue::new("exception.type", "TimeoutError"),
            KeyValue::new("attempt", 3i64),
        ],
    );
    let root_context = root.span_context().clone();
    let parent = opentelemetry::Context::current().with_remote_span_context(root_context.clone());
    let mut child = tracer
        .span_builder("SELECT orders")
        .with_kind(SpanKind::Client)
        .start_with_context(&tracer, &parent);
    let child_span_id = child.span_context().span_id().to_string();
    child.set_status(Status::Ok);
    child.end();
    root.set_status(Status::error("payment provider timed out"));
    root.end_with_timestamp(root_end);
    SentTrace {
        trace_id: root_context.trace_id().to_string(),
        root_span_id: root_context.span_id().to_string(),
        child_span_id,
        root_start: unix_nanos(root_start),
        root_end: unix_nanos(root_end),
        event_time: unix_nanos(event_time),
        linked_trace_id: linked.trace_id().to_string(),
        linked_span_id: linked.span_id().to_string(),
    }
}

async fn round_trip(transport: Transport) -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter(&app, transport)?)
        .with_resource(
            Resource::builder()
                .with_service_name("checkout")
                .with_attributes(vec![
                    KeyValue::new("cloud.provider", "aws"),
                    KeyValue::new("faas.max_memory", 536870912i64),
                ])
                .build(),
        )
        .build();
    let sent = send_trace(&provider, &format!("{transport:?}"));
    // The batch exporter exports on its own thread; flush and stop it off the runtime.
    let flushed = provider.clone();
    tokio::task::spawn_blocking(move || flushed.shutdown()).await??;

    let trace = app.wait_for_trace(&sent.trace_id, 2).await?;
    let spans = trace["spans"].as_array().expect("spans");
    let root = spans
        .iter()
        .find(|span| span["span_id"] == sent.root_span_id)
        .expect("root span stored");
    let child = spans
        .iter()
        .find(|span| span["span_id"] == sent.child_span_id)
        .expect("child span stored");

    assert_eq!(root["trace_id"], sent.trace_id);
    assert_eq!(root["parent_span_id"], "");
    assert_eq!(root["name"], "POST /checkout");
    assert_eq!(root["kind"], "server");
    assert_eq!(root["service"], "checkout");
    assert_eq!(root["start_time_unix_nano"], sent.root_start);
    assert_eq!(root["end_time_unix_nano"], sent.root_end);
    assert_eq!(root["duration_ns"], sent.root_end - sent.root_start);
    assert_eq!(root["status_code"], "error");
    assert_eq!(root["status_message"], "payment provider timed out");
    assert_eq!(
        root["attributes"],
        json!({
            "http.route": "/checkout", "http.status_code": 502, "retry.ratio": 0.75, "cache.hit": false,
            "service.tag": format!("{transport:?}"), "tags": ["a", "b"], "sizes": [1, 2, 3],
            "weights": [0.5, 1.5], "flags": [true, false]
        })
    );
    let resource = root["resource"].as_object().expect("resource object");
    assert_eq!(resource["service.name"], "checkout");
    assert_eq!(resource["cloud.provider"], "aws");
    assert_eq!(resource["faas.max_memory"], 536870912);
    assert_eq!(resource["telemetry.sdk.language"], "rust");
    assert_eq!(
        root["scope"],
        json!({"name": "checkout-lib", "version": "2.1.0"})
    );
    assert_eq!(
        root["events"],
        json!([{"time_unix_nano": sent.event_time, "name": "exception",
                "attributes": {"exception.type": "TimeoutError", "attempt": 3}}])
    );
    assert_eq!(
        root["links"],
        json!([{"trace_id": sent.linked_trace_id, "span_id": sent.linked_span_id, "trace_state": "",
                "attributes": {"messaging.message.id": "msg-7"}}])
    );
    assert_eq!(child["parent_span_id"], sent.root_span_id);
    assert_eq!(child["kind"], "client");
    assert_eq!(child["status_code"], "ok");
    assert_eq!(child["name"], "SELECT orders");

    assert_eq!(
        app.metric("tracehouse_accepted_items_total{signal=\"traces\"}")
            .await?,
        2.0
    );
    let transport_label = match transport {
        Transport::Grpc => "grpc",
        Transport::HttpProtobuf | Transport::HttpJson => "http",
    };
    let requests = app
        .metric(&format!(
            "tracehouse_otlp_requests_total{{signal=\"traces\",transport=\"{transport_label}\",outcome=\"ok\"}}"
        ))
        .await?;
    assert!(requests >= 1.0, "{requests} requests counted");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_with_gzip_round_trips_every_field() -> anyhow::Result<()> {
    round_trip(Transport::Grpc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn http_protobuf_with_gzip_round_trips_every_field() -> anyhow::Result<()> {
    round_trip(Transport::HttpProtobuf).await
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_round_trips_every_field() -> anyhow::Result<()> {
    round_trip(Transport::HttpJson).await
}
