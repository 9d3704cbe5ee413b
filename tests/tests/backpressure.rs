//! When ClickHouse is unreachable the write queue fills, receivers answer
//! with OTLP's retryable statuses, and once ClickHouse is back every
//! accepted span is written. A project that holds its share of the queue
//! is refused the same way while another project still gets in.

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

/// A request of `count` spans of `trace_id` whose attribute makes each span
/// hold about a kilobyte in the queue.
fn heavy_spans_request(trace_id: &str, first_span: u64, count: u64) -> serde_json::Value {
    let mut request = spans_request(trace_id, first_span, count);
    let padding = "x".repeat(1000);
    if let Some(spans) = request["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array_mut() {
        for span in spans {
            span["attributes"] = json!([{"key": "padding", "value": {"stringValue": padding}}]);
        }
    }
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_over_its_share_of_the_queue_is_refused_and_another_still_gets_in(
) -> anyhow::Result<()> {
    use tracehouse_model::access::{AuthSettings, IngestTokenEntry, SecretHash};
    let server = clickhouse().await?;
    let target = server.url().trim_start_matches("http://").parse()?;
    let proxy = ChaosProxy::start(target).await?;
    let tokens = [("noisy", "noisy-token-1"), ("quiet", "quiet-token-1")];
    let auth = AuthSettings {
        ingest_tokens: tokens
            .iter()
            .map(|(project, token)| IngestTokenEntry {
                project: (*project).to_owned(),
                token_sha256: SecretHash::of(token).to_hex(),
            })
            .collect(),
        ..AuthSettings::default()
    };
    let app = TestApp::start_via(proxy.url(), |config| {
        config.auth = Some(auth);
        // 1 MiB, half of it per project: about 500 spans of a kilobyte each.
        config.queue_max_bytes = 1024 * 1024;
        config.queue_project_share_percent = 50;
        config.batch_max_age = Duration::from_millis(50).into();
    })
    .await?;
    let url = format!("{}/v1/traces", app.otlp_http_url());
    let send = |token: &'static str, trace_id: &'static str, first: u64| {
        app.http
            .post(&url)
            .bearer_auth(token)
            .json(&heavy_spans_request(trace_id, first, 100))
            .send()
    };
    let (noisy_trace, quiet_trace) = (
        "0af7651916cd43dd8448eb211c80319c",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    );

    // ClickHouse is cut off: nothing leaves the queue.
    proxy.cut();
    let mut noisy_accepted = 0u64;
    let refused = loop {
        let response = send(tokens[0].1, noisy_trace, 1 + noisy_accepted * 100).await?;
        if response.status() != 200 {
            break response;
        }
        noisy_accepted += 1;
        anyhow::ensure!(noisy_accepted < 20, "the noisy project was never refused");
    };
    assert!(
        noisy_accepted >= 2,
        "{noisy_accepted} requests before the share was reached"
    );
    assert_eq!(refused.status(), 503, "retryable");
    assert_eq!(refused.headers()["retry-after"], "1");
    let rejected = app
        .metric("tracehouse_rejected_items_total{signal=\"traces\",reason=\"project_share\"}")
        .await?;
    assert_eq!(
        rejected, 100.0,
        "the refused request's spans, without a project label"
    );

    // The other project still gets in, while the noisy one stays refused.
    let quiet = send(tokens[1].1, quiet_trace, 1).await?;
    assert_eq!(quiet.status(), 200, "{}", quiet.text().await?);
    let again = send(tokens[0].1, noisy_trace, 10_000).await?;
    assert_eq!(again.status(), 503);
    let queued = app.metric("tracehouse_writer_queue_bytes").await?;
    assert!(
        queued > 0.0 && queued <= 1024.0 * 1024.0,
        "the queue's bytes stay within queue_max_bytes: {queued}"
    );

    // Back: every accepted span is written, each in its project.
    proxy.restore();
    let stored =
        |project: &str| format!("SELECT count() AS count FROM spans WHERE project = '{project}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.count_rows(&stored("noisy")).await? < noisy_accepted * 100
        || app.count_rows(&stored("quiet")).await? < 100
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "spans not written in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count_rows(&stored("noisy")).await?,
        noisy_accepted * 100
    );
    assert_eq!(app.count_rows(&stored("quiet")).await?, 100);
    while app.metric("tracehouse_writer_queue_bytes").await? > 0.0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "room not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = send(tokens[0].1, noisy_trace, 20_000).await?;
    assert_eq!(after.status(), 200, "room came back once written");

    // One request larger than the share, with an invocation besides its
    // spans, gets in when its project holds nothing else.
    let mut large = heavy_spans_request(quiet_trace, 1_000, 700);
    if let Some(attributes) =
        large["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].as_array_mut()
    {
        attributes.push(json!({"key": "faas.trigger", "value": {"stringValue": "http"}}));
    }
    let response = app
        .http
        .post(&url)
        .bearer_auth(tokens[1].1)
        .json(&large)
        .send()
        .await?;
    assert_eq!(response.status(), 200, "{}", response.text().await?);
    let invocations = "SELECT count() AS count FROM invocations WHERE project = 'quiet'";
    while app.count_rows(invocations).await? < 1 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "invocation not written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await
}
