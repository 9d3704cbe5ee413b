//! When ClickHouse is unreachable the write queue fills, receivers answer
//! with OTLP's retryable statuses, and once ClickHouse is back every
//! accepted span is written.

use serde_json::json;
use std::time::Duration;
use tracehouse_tests::chaos::ChaosProxy;
use tracehouse_tests::{clickhouse, now_unix_nanos, TestApp};

fn spans_request(trace_id: &str, first_span: u64, count: u64) -> serde_json::Value {
    let start = now_unix_nanos();
    let spans: Vec<_> = (first_span..first_span + count)
        .map(|number| {
            json!({"traceId": trace_id, "spanId": format!("{:016x}", number), "name": "work",
                   "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1000).to_string()})
        })
        .collect();
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn saturated_write_path_answers_retryable_statuses_and_loses_nothing() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let server = clickhouse().await?;
    let target = server.url().trim_start_matches("http://").parse()?;
    let proxy = ChaosProxy::start(target).await?;
    let app = TestApp::start_via(proxy.url(), |config| {
        config.queue_max_rows = 10;
        config.batch_max_rows = 5;
        config.batch_max_age = Duration::from_millis(50).into();
    })
    .await?;
    let url = format!("{}/v1/traces", app.otlp_http_url());
    let trace_id = "7b8efff798038103d269b633813fc60c";

    proxy.cut();
    for batch in 0..2 {
        let response = app
            .http
            .post(&url)
            .json(&spans_request(trace_id, 1 + batch * 5, 5))
            .send()
            .await?;
        assert_eq!(response.status(), 200, "queue has room for batch {batch}");
    }
    let response = app
        .http
        .post(&url)
        .json(&spans_request(trace_id, 100, 1))
        .send()
        .await?;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await?;
    assert!(
        body["message"].as_str().unwrap_or("").contains("saturated"),
        "{body}"
    );

    // gRPC says UNAVAILABLE, which OTLP clients retry.
    let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        app.otlp_grpc_url(),
    )
    .await?;
    let request: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest =
        serde_json::from_value(spans_request(trace_id, 200, 1))?;
    let status = client.export(request).await.expect_err("queue is full");
    assert_eq!(status.code(), tonic::Code::Unavailable);

    assert_eq!(
        app.metric("tracehouse_writer_queue_rows{table=\"spans\"}")
            .await?,
        10.0
    );
    let (status, _) = app.get_json("/readyz").await?;
    assert_eq!(status, 503, "not ready while clickhouse is unreachable");

    proxy.restore();
    let trace = app.wait_for_trace(trace_id, 10).await?;
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(10));
    assert!(
        app.metric("tracehouse_writer_write_errors_total{table=\"spans\",kind=\"retryable\"}")
            .await?
            >= 1.0
    );
    assert_eq!(
        app.wait_for_metric(
            "tracehouse_writer_rows_written_total{table=\"spans\"}",
            10.0
        )
        .await?,
        10.0,
        "rows written, once the writer has counted them"
    );
    assert_eq!(
        app.metric("tracehouse_writer_rows_dropped_total{table=\"spans\"}")
            .await?,
        0.0
    );
    assert_eq!(
        app.metric("tracehouse_rejected_items_total{signal=\"traces\",reason=\"queue_full\"}")
            .await?,
        2.0
    );
    app.stop().await
}
