//! A malformed metric point is refused at ingest with a reason, the rest of
//! its request is stored, and the functions pages keep answering.

use serde_json::json;
use tracehouse_tests::{now_unix_nanos, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn a_histogram_whose_buckets_do_not_match_its_bounds_is_refused() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let now = now_unix_nanos();
    let histogram = |bounds: Vec<f64>, counts: Vec<&str>| {
        json!({"name": "faas.init_duration", "unit": "s", "histogram": {
            "aggregationTemporality": 1,
            "dataPoints": [{"startTimeUnixNano": (now - 1_000_000_000).to_string(),
                "timeUnixNano": now.to_string(), "count": "1", "sum": 0.2,
                "explicitBounds": bounds, "bucketCounts": counts}]}})
    };
    let body = json!({"resourceMetrics": [{
    "resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "resize"}},
        {"key": "faas.name", "value": {"stringValue": "resize"}},
        {"key": "cloud.provider", "value": {"stringValue": "aws"}}]},
    "scopeMetrics": [{"metrics": [
        histogram(vec![], vec!["0", "1"]),
        histogram(vec![0.1, 0.5], vec!["0", "1", "0"]),
    ]}]}]});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/metrics", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await?;
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedDataPoints"], 1, "{answer}");
    let message = partial["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("1 malformed_data_point"), "{message}");
    let refused = app
        .metric(
            r#"tracehouse_rejected_items_total{signal="metrics",reason="malformed_data_point"}"#,
        )
        .await?;
    assert_eq!(refused, 1.0);
    let written = r#"tracehouse_writer_rows_written_total{table="metric_points"}"#;
    for _ in 0..100 {
        if app.metric(written).await.unwrap_or(0.0) >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.metric(written).await?, 1.0, "the valid point is stored");
    let (status, functions) = app.get_json("/api/v1/functions?from=now-1h").await?;
    assert_eq!(status, 200, "{functions}");
    app.stop().await
}
