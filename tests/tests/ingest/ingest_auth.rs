//! Ingest tokens on both transports: each valid token writes into its own
//! project (traces, metrics, logs); no token or a wrong one is 401 /
//! UNAUTHENTICATED and stores nothing; a token added to or removed from the
//! auth file works or stops working without a restart.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tracehouse_model::access::{AuthSettings, IngestTokenEntry, SecretHash};
use tracehouse_tests::{now_unix_nanos, TestApp};

const PAYMENTS_TOKEN: &str = "payments-token-1";
const SEARCH_TOKEN: &str = "search-token-1";

fn entry(project: &str, token: &str) -> String {
    format!(
        "[[auth.ingest_tokens]]\nproject = \"{project}\"\ntoken_sha256 = \"{}\"\n",
        SecretHash::of(token).to_hex()
    )
}

/// An app whose `payments` token is in the config and whose `search` token
/// is in the named file `auth_file`.
async fn start(auth_file: &Path) -> anyhow::Result<TestApp> {
    std::fs::write(auth_file, entry("search", SEARCH_TOKEN))?;
    let auth = AuthSettings {
        file: Some(auth_file.to_owned()),
        ingest_tokens: vec![IngestTokenEntry {
            project: "payments".to_owned(),
            token_sha256: SecretHash::of(PAYMENTS_TOKEN).to_hex(),
        }],
        ..AuthSettings::default()
    };
    TestApp::start_with(|config| config.auth = Some(auth)).await
}

fn json_trace(trace_id: &str) -> Value {
    let start = now_unix_nanos();
    json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "handler",
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1000).to_string()
    }]}]}]})
}

async fn post_http(
    app: &TestApp,
    path: &str,
    body: &Value,
    header: Option<(&str, &str)>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = app
        .http
        .post(format!("{}{path}", app.otlp_http_url()))
        .json(body);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    Ok(request.send().await?)
}

async fn spans_of(app: &TestApp, project: &str, trace_id: &str) -> anyhow::Result<u64> {
    app.count_rows(&format!(
        "SELECT count() AS count FROM spans WHERE project = '{project}' AND trace_id = unhex('{trace_id}')"
    ))
    .await
}

async fn spans_anywhere(app: &TestApp, trace_id: &str) -> anyhow::Result<u64> {
    app.count_rows(&format!(
        "SELECT count() AS count FROM spans WHERE trace_id = unhex('{trace_id}')"
    ))
    .await
}

async fn wait_for_span(app: &TestApp, project: &str, trace_id: &str) -> anyhow::Result<()> {
    app.wait_for_rows(
        &format!(
            "SELECT count() AS count FROM spans WHERE project = '{project}' AND trace_id = unhex('{trace_id}')"
        ),
        1,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn http_tokens_pick_the_project_and_wrong_ones_store_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let app = start(&dir.path().join("auth.toml")).await?;

    let refused_trace = "11".repeat(16);
    let bearer_payments = format!("Bearer {PAYMENTS_TOKEN}");
    for header in [
        None,
        Some(("authorization", "Bearer not-a-token")),
        Some(("x-tracehouse-token", "not-a-token")),
        Some(("authorization", "Basic cGF5bWVudHM6eA==")),
    ] {
        let response = post_http(&app, "/v1/traces", &json_trace(&refused_trace), header).await?;
        assert_eq!(response.status(), 401, "{header:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await?;
        assert_eq!(
            body["code"], 16,
            "google.rpc.Status UNAUTHENTICATED: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap_or("")
                .contains("unauthenticated"),
            "{body}"
        );
    }

    let payments_trace = "22".repeat(16);
    let search_trace = "33".repeat(16);
    let accepted = [
        (&payments_trace, ("authorization", bearer_payments.as_str())),
        (&search_trace, ("x-tracehouse-token", SEARCH_TOKEN)),
    ];
    for (trace_id, header) in accepted {
        let response = post_http(&app, "/v1/traces", &json_trace(trace_id), Some(header)).await?;
        assert_eq!(response.status(), 200, "{header:?}");
    }
    wait_for_span(&app, "payments", &payments_trace).await?;
    wait_for_span(&app, "search", &search_trace).await?;
    assert_eq!(spans_of(&app, "search", &payments_trace).await?, 0);
    assert_eq!(spans_of(&app, "default", &payments_trace).await?, 0);
    // Refused before the accepted ones were sent, so never to come.
    assert_eq!(spans_anywhere(&app, &refused_trace).await?, 0);
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"traces\",transport=\"http\",outcome=\"unauthenticated\"}")
            .await?,
        4.0
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_logs_go_to_the_project_of_the_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let app = start(&dir.path().join("auth.toml")).await?;
    let now = now_unix_nanos().to_string();
    let logs = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": now, "body": {"stringValue": "auth test line"}}]}]}]});
    let metrics = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "auth.test.gauge", "gauge": {"dataPoints": [{"timeUnixNano": now, "asDouble": 1.5}]}}]}]}]});
    for (path, body) in [("/v1/logs", &logs), ("/v1/metrics", &metrics)] {
        let refused = post_http(&app, path, body, None).await?;
        assert_eq!(refused.status(), 401, "{path}");
        let header = Some(("x-tracehouse-token", SEARCH_TOKEN));
        let accepted = post_http(&app, path, body, header).await?;
        assert_eq!(accepted.status(), 200, "{path}");
    }
    app.wait_for_rows(
        "SELECT count() AS count FROM logs WHERE project = 'search'",
        1,
    )
    .await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM metric_points WHERE project = 'search'",
        1,
    )
    .await?;
    for table in ["logs", "metric_points"] {
        let elsewhere = app
            .count_rows(&format!(
                "SELECT count() AS count FROM {table} WHERE project != 'search'"
            ))
            .await?;
        assert_eq!(elsewhere, 0, "{table}");
    }
    app.stop().await
}

fn grpc_request(trace_id: u8) -> ExportTraceServiceRequest {
    let start = now_unix_nanos();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace_id; 16],
                    span_id: vec![1; 8],
                    name: "handler".to_owned(),
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + 1_000,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn with_metadata(
    request: ExportTraceServiceRequest,
    header: Option<(&'static str, &str)>,
) -> anyhow::Result<tonic::Request<ExportTraceServiceRequest>> {
    let mut request = tonic::Request::new(request);
    if let Some((name, value)) = header {
        request.metadata_mut().insert(name, value.parse()?);
    }
    Ok(request)
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_metadata_tokens_pick_the_project_and_wrong_ones_store_nothing() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let app = start(&dir.path().join("auth.toml")).await?;
    let mut client = TraceServiceClient::connect(app.otlp_grpc_url()).await?;
    let bearer_payments = format!("Bearer {PAYMENTS_TOKEN}");
    for header in [
        None,
        Some(("authorization", "Bearer wrong")),
        Some(("x-tracehouse-token", "wrong")),
    ] {
        let status = client
            .export(with_metadata(grpc_request(0x44), header)?)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
    }
    client
        .export(with_metadata(
            grpc_request(0x55),
            Some(("authorization", &bearer_payments)),
        )?)
        .await?;
    client
        .export(with_metadata(
            grpc_request(0x66),
            Some(("x-tracehouse-token", SEARCH_TOKEN)),
        )?)
        .await?;
    wait_for_span(&app, "payments", &"55".repeat(16)).await?;
    wait_for_span(&app, "search", &"66".repeat(16)).await?;
    assert_eq!(spans_anywhere(&app, &"44".repeat(16)).await?, 0);
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"traces\",transport=\"grpc\",outcome=\"unauthenticated\"}")
            .await?,
        3.0
    );
    app.stop().await
}

/// Polls until a request with `token` gets `expected` (the file watcher checks every second).
async fn wait_for_status(app: &TestApp, token: &str, expected: u16) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let header = Some(("x-tracehouse-token", token));
        let status = post_http(app, "/v1/traces", &json_trace(&"77".repeat(16)), header)
            .await?
            .status();
        if status == expected {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "token still answered {status}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_rotate_and_revoke_without_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let auth_file = dir.path().join("auth.toml");
    let app = start(&auth_file).await?;
    let rotated = "search-token-2";
    wait_for_status(&app, rotated, 401).await?;
    // Rotation: the new token is added, then the old one removed.
    std::fs::write(
        &auth_file,
        format!(
            "{}{}",
            entry("search", SEARCH_TOKEN),
            entry("search", rotated)
        ),
    )?;
    wait_for_status(&app, rotated, 200).await?;
    std::fs::write(&auth_file, entry("search", rotated))?;
    wait_for_status(&app, SEARCH_TOKEN, 401).await?;
    wait_for_status(&app, rotated, 200).await?;
    // A broken file keeps the rules in force.
    std::fs::write(
        &auth_file,
        "[[auth.ingest_tokens]]\nproject = \"Bad Name\"\n",
    )?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    wait_for_status(&app, rotated, 200).await?;
    wait_for_status(&app, PAYMENTS_TOKEN, 200).await?;
    app.stop().await
}

/// `serve --demo` with ingest tokens: its own token writes into project
/// `default` (where the demo's alert rules look), survives a reload of the
/// rules, and is nowhere on disk; without a token the same export is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_sends_with_a_token_of_its_own() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let auth_file = dir.path().join("auth.toml");
    let mut demo_token = None;
    std::fs::write(&auth_file, entry("search", SEARCH_TOKEN))?;
    let app = TestApp::start_with(|config| {
        config.auth = Some(AuthSettings {
            file: Some(auth_file.clone()),
            ..AuthSettings::default()
        });
        demo_token = tracehouse::demo::prepare(config).expect("prepared");
        config.alerts = None;
    })
    .await?;
    let token = demo_token.expect("a token when ingest tokens are required");
    assert!(!std::fs::read_to_string(&auth_file)?.contains(&token));
    // A reload of the rules keeps the demo's token.
    std::fs::write(
        &auth_file,
        format!(
            "{}\n{}",
            entry("search", SEARCH_TOKEN),
            entry("payments", PAYMENTS_TOKEN)
        ),
    )?;
    wait_for_status(&app, PAYMENTS_TOKEN, 200).await?;

    let options = tracehouse_simulator::DemoOptions {
        duration: Some(Duration::ZERO),
        backfill: Duration::from_secs(60),
        ..tracehouse_simulator::DemoOptions::default()
    };
    let refused = tracehouse_simulator::run(&app.otlp_grpc_url(), &options).await;
    assert!(
        matches!(&refused, Err(tracehouse_simulator::DemoError::Export(status)) if status.code() == tonic::Code::Unauthenticated),
        "{refused:?}"
    );
    let with_token = tracehouse_simulator::DemoOptions {
        ingest_token: Some(token),
        ..options
    };
    let summary = tracehouse_simulator::run(&app.otlp_grpc_url(), &with_token).await?;
    assert!(summary.spans > 0, "{summary:?}");
    app.wait_for_rows(
        "SELECT count() AS count FROM spans WHERE project = 'default'",
        summary.spans,
    )
    .await?;
    assert_eq!(
        app.count_rows("SELECT count() AS count FROM spans WHERE project = 'search'")
            .await?,
        0
    );
    app.stop().await
}

#[test]
fn the_demo_needs_no_token_where_none_is_required() {
    let mut config = tracehouse::Config::default();
    assert_eq!(
        tracehouse::demo::prepare(&mut config).expect("prepared"),
        None
    );
    assert!(config.in_process_ingest_tokens.is_empty());
    assert!(config.alerts.is_some(), "the demo's alert rules");
}
