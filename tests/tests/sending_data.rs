//! The guide `docs/sending-data.md`, run as printed: its Rust snippet is the
//! code between the `snippet` markers below (checked byte for byte), run
//! with the guide's OTLP/gRPC variables against a real Tracehouse; its
//! Collector snippet points at Tracehouse's default ports. The Python and
//! Node.js snippets run in `tests/e2e` (`test_sending_data.py`,
//! `sending_data.test.js`).

use serde_json::Value;
use std::collections::BTreeMap;
use tracehouse_tests::otlp_json::listed_function;
use tracehouse_tests::TestApp;

const GUIDE: &str = include_str!("../../docs/sending-data.md");
const THIS_FILE: &str = include_str!("sending_data.rs");

// snippet: begin
use opentelemetry::trace::{SpanKind, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

fn export_two_invocations() -> anyhow::Result<()> {
    // Endpoint from OTEL_EXPORTER_OTLP_ENDPOINT; service and resource from
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().build())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("orders");
    for (request_id, cold) in [("rust-request-1", true), ("rust-request-2", false)] {
        tracer
            .span_builder("POST /orders")
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("faas.trigger", "http"),
                KeyValue::new("faas.invocation_id", request_id),
                KeyValue::new("faas.coldstart", cold),
            ])
            .start(&tracer);
    }
    provider.shutdown()?; // flushes the batch
    Ok(())
}
// snippet: end

/// The fenced block that follows `<!-- <marker>: <name> -->` in the guide.
fn guide_block(marker: &str, name: &str) -> String {
    let tag = format!("<!-- {marker}: {name} -->\n```");
    let start = GUIDE
        .find(&tag)
        .unwrap_or_else(|| panic!("{tag} in the guide"));
    let fenced = &GUIDE[start + tag.len()..];
    let body = &fenced[fenced.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

/// `export NAME=value` lines of a variable block.
fn guide_variables(name: &str) -> BTreeMap<String, String> {
    guide_block("tested", name)
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

#[test]
fn the_guide_prints_the_code_this_test_runs() {
    let begin = "// snippet: begin\n";
    let start = THIS_FILE.find(begin).expect("begin marker") + begin.len();
    let end = THIS_FILE.find("// snippet: end").expect("end marker");
    assert_eq!(guide_block("tested", "rust"), THIS_FILE[start..end]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_snippet_sends_two_invocations_of_a_lambda_function() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let variables = guide_variables("env-grpc");
    assert_eq!(
        variables["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://127.0.0.1:4317"
    );
    for (key, value) in &variables {
        let value = value.replace("http://127.0.0.1:4317", &app.otlp_grpc_url());
        // The only test of this binary that reads the environment.
        std::env::set_var(key, value);
    }
    tokio::task::spawn_blocking(export_two_invocations).await??;

    let listed = app
        .wait_for_json("/api/v1/functions?from=now-1h", |body| {
            listed_function(body, "create-order").is_some_and(|f| f["invocations"] == 2)
        })
        .await?;
    let function = listed_function(&listed, "create-order").expect("listed");
    assert_lambda_function(function);
    app.stop().await
}

/// What the guide's resource variables make of the function.
fn assert_lambda_function(function: &Value) {
    assert_eq!(function["service"], "create-order");
    assert_eq!(function["provider"], "aws");
    assert_eq!(function["region"], "eu-west-1");
    assert_eq!(function["arch"], "arm64");
    assert_eq!(function["memory_mb"], 512);
    assert_eq!(function["cold_starts"], 1, "{function}");
    assert!(
        function["cost_usd"].as_f64().is_some_and(|cost| cost > 0.0),
        "{function}"
    );
}

#[test]
fn the_collector_snippet_points_at_the_default_ports() -> anyhow::Result<()> {
    let config: yaml_serde::Value = yaml_serde::from_str(&guide_block("checked", "collector"))?;
    let defaults = tracehouse::config::Config::default();
    let grpc = config["exporters"]["otlp/tracehouse"]["endpoint"]
        .as_str()
        .unwrap_or_default();
    let http = config["exporters"]["otlphttp/tracehouse"]["endpoint"]
        .as_str()
        .unwrap_or_default();
    assert!(
        grpc.ends_with(&format!(":{}", defaults.otlp_grpc_addr.port())),
        "{grpc}"
    );
    assert!(
        http.ends_with(&format!(":{}", defaults.otlp_http_addr.port())),
        "{http}"
    );
    for signal in ["traces", "metrics", "logs"] {
        let exporters = &config["service"]["pipelines"][signal]["exporters"];
        assert_eq!(exporters[0].as_str(), Some("otlp/tracehouse"), "{signal}");
    }
    Ok(())
}
