//! Server-rendered pages: the home page and a trace's waterfall.

use serde_json::json;
use tracehouse_tests::{now_unix_nanos, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn trace_page_shows_the_waterfall() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let start = now_unix_nanos();
    let trace_id = "8b8efff798038103d269b633813fc60c";
    let body = json!({"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]},
    "scopeSpans": [{"spans": [
        {"traceId": trace_id, "spanId": "1000000000000001", "name": "POST /pay", "kind": 2,
         "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 40_000_000).to_string()},
        {"traceId": trace_id, "spanId": "1000000000000002", "parentSpanId": "1000000000000001",
         "name": "charge card <script>", "kind": 3, "startTimeUnixNano": (start + 10_000_000).to_string(),
         "endTimeUnixNano": (start + 30_000_000).to_string(),
         "status": {"code": 2, "message": "card declined"}}
    ]}]}]});
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    app.wait_for_trace(trace_id, 2).await?;

    let (status, html) = app.get_text(&format!("/traces/{trace_id}")).await?;
    assert_eq!(status, 200);
    assert!(html.contains("2 spans"), "{html}");
    assert!(html.contains("1 errors"));
    assert!(html.contains("card declined"));
    // The child is indented under its parent and its bar starts a quarter in and spans half.
    let parent_at = html.find("POST /pay").expect("parent row");
    let child_at = html.find("charge card").expect("child row");
    assert!(parent_at < child_at);
    assert!(html.contains("padding-left: 24px"));
    assert!(html.contains("margin-left: 25.00%; width: 50.00%"));
    // Span names are escaped.
    assert!(
        html.contains("charge card &#60;script&#62;")
            || html.contains("charge card &lt;script&gt;")
    );

    let (status, html) = app
        .get_text("/traces/0af7651916cd43dd8448eb211c80319d")
        .await?;
    assert_eq!(status, 404);
    assert!(html.contains("not found"));
    let (status, _) = app.get_text("/traces/zzz").await?;
    assert_eq!(status, 400);
    let (status, html) = app.get_text("/").await?;
    assert_eq!(status, 200);
    assert!(html.contains(&app.otlp_grpc_url()), "{html}");
    // "not ready" contains "ready": look for the ready mark and the schema
    // version, and for the absence of the other.
    let schema_version = tracehouse_schema::MIGRATIONS
        .last()
        .map_or(0, |migration| migration.version);
    assert!(html.contains(r#"<span class="ok">ready</span>"#), "{html}");
    assert!(
        html.contains(&format!("(schema version {schema_version})")),
        "{html}"
    );
    assert!(!html.contains("not ready"), "{html}");
    app.stop().await
}
