//! A Lambda-style function instrumented with the Rust OpenTelemetry SDK
//! (batch exporter over gRPC with gzip) that, like the Python AWS Lambda
//! instrumentation, never sets `faas.coldstart`: two sandboxes (instances),
//! entry spans with child spans (a CONSUMER among them), one entry span with
//! a remote parent. Tracehouse must count the invocations, find one cold
//! start per instance and price every invocation exactly.

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Compression, SpanExporter, WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use tracehouse_tests::TestApp;

const ARM_RATE: f64 = 0.0000133334;
const MEMORY_MB: f64 = 256.0;

/// One sandbox of the function: its own SDK pipeline and resource.
fn sandbox(app: &TestApp, instance: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(app.otlp_grpc_url())
        .with_compression(Compression::Gzip)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("checkout-fn")
                .with_attributes(vec![
                    KeyValue::new("cloud.provider", "aws"),
                    KeyValue::new("cloud.platform", "aws_lambda"),
                    KeyValue::new("cloud.region", "us-east-1"),
                    KeyValue::new("faas.name", "checkout-fn"),
                    // MiB, as the Python SDK's Lambda resource detector sends it.
                    KeyValue::new("faas.max_memory", 256i64),
                    KeyValue::new("faas.instance", instance.to_owned()),
                    KeyValue::new("host.arch", "arm64"),
                ])
                .build(),
        )
        .build())
}

/// One invocation: the entry span and two children; returns its duration in ns.
fn invoke(
    provider: &SdkTracerProvider,
    request_id: &str,
    start: SystemTime,
    duration: Duration,
    fail: bool,
    remote_parent: Option<SpanContext>,
) -> u64 {
    let tracer = provider.tracer("lambda-handler");
    let parent = match remote_parent {
        Some(remote) => opentelemetry::Context::new().with_remote_span_context(remote),
        None => opentelemetry::Context::new(),
    };
    let entry = tracer
        .span_builder("checkout handler")
        .with_kind(SpanKind::Server)
        .with_start_time(start)
        .with_attributes(vec![
            KeyValue::new("faas.trigger", "http"),
            KeyValue::new("faas.invocation_id", request_id.to_owned()),
        ])
        .start_with_context(&tracer, &parent);
    // Children have the entry span as their local parent.
    let inside = opentelemetry::Context::new().with_span(entry);
    for (name, kind) in [
        ("SELECT cart", SpanKind::Client),
        ("process message", SpanKind::Consumer),
    ] {
        let mut child = tracer
            .span_builder(name)
            .with_kind(kind)
            .with_start_time(start + Duration::from_millis(1))
            .start_with_context(&tracer, &inside);
        child.end_with_timestamp(start + Duration::from_millis(2));
    }
    let entry = inside.span();
    if fail {
        entry.set_status(Status::error("card declined"));
    }
    entry.end_with_timestamp(start + duration);
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_sdk_function_without_coldstart_attribute() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let first_sandbox = sandbox(&app, "2026/11/27/[$LATEST]aaaa")?;
    let second_sandbox = sandbox(&app, "2026/11/27/[$LATEST]bbbb")?;
    let base = tracehouse_model::time::now() - Duration::from_secs(120);
    let upstream = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736")?,
        SpanId::from_hex("00f067aa0ba902b7")?,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let durations = [
        invoke(
            &first_sandbox,
            "req-1",
            base,
            Duration::from_nanos(812_345_678),
            false,
            None,
        ),
        invoke(
            &first_sandbox,
            "req-2",
            base + Duration::from_millis(5_000),
            Duration::from_nanos(101_000_001),
            true,
            None,
        ),
        invoke(
            &second_sandbox,
            "req-3",
            base + Duration::from_millis(7_000),
            Duration::from_nanos(654_321_000),
            false,
            Some(upstream),
        ),
    ];
    // The batch exporters export on their own threads; flush and stop them off the runtime.
    for provider in [first_sandbox, second_sandbox] {
        tokio::task::spawn_blocking(move || {
            provider.force_flush()?;
            provider.shutdown()
        })
        .await??;
    }

    let expected_invocations = durations.len() as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let function: Value = loop {
        let (status, body) = app.get_json("/api/v1/functions").await?;
        anyhow::ensure!(status == 200, "{body}");
        let found = body["functions"]
            .as_array()
            .and_then(|functions| functions.iter().find(|f| f["function"] == "checkout-fn"))
            .cloned();
        // Counts and costs are two reads: wait until both see every invocation.
        let complete = |f: &Value| {
            f["invocations"] == expected_invocations && f["cost_usd"].as_f64() > Some(0.0)
        };
        if let Some(function) = found.filter(complete) {
            break function;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not all invocations after 20 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        function["invocations"], 3,
        "children are not invocations: {function}"
    );
    assert_eq!(function["errors"], 1);
    assert_eq!(function["cold_starts"], 2, "one per sandbox");
    assert_eq!(function["provider"], "aws");
    assert_eq!(function["region"], "us-east-1");
    assert_eq!(function["memory_mb"], 256);
    assert_eq!(function["arch"], "arm64");
    let expected_cost: f64 = durations
        .iter()
        .map(|duration_ns| {
            0.20e-6
                + duration_ns.div_ceil(1_000_000) as f64 / 1000.0 * MEMORY_MB / 1024.0 * ARM_RATE
        })
        .sum();
    let cost = function["cost_usd"].as_f64().expect("cost is known");
    assert!(
        (cost - expected_cost).abs() < 1e-9,
        "cost {cost}, expected {expected_cost}"
    );
    let max_ms = function["duration_ms"]["max"].as_f64().unwrap_or(0.0);
    assert!((max_ms - 812.345678).abs() < 1e-9, "max {max_ms}");
    // Cold: the first invocation of each sandbox (812.3 ms and 654.3 ms); warm: 101.0 ms.
    let cold_p50 = function["cold_p50_ms"].as_f64().unwrap_or(0.0);
    assert!(
        (cold_p50 - (812.345678 + 654.321) / 2.0).abs() < 1e-6,
        "cold p50 {cold_p50}"
    );
    let warm_p50 = function["warm_p50_ms"].as_f64().unwrap_or(0.0);
    assert!((warm_p50 - 101.000001).abs() < 1e-6, "warm p50 {warm_p50}");

    let (status, cold) = app
        .get_json("/api/v1/coldstarts?function=checkout-fn")
        .await?;
    assert_eq!(status, 200, "{cold}");
    let instances: Vec<&str> = cold["cold_starts"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|start| start["instance"].as_str())
        .collect();
    assert_eq!(
        instances,
        vec!["2026/11/27/[$LATEST]bbbb", "2026/11/27/[$LATEST]aaaa"]
    );
    app.stop().await
}
