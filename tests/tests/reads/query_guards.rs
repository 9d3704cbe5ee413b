//! The bounds of every read, against a real ClickHouse: windows longer than
//! `max_query_window` are refused on the JSON API, the pages and the Jaeger
//! API, and queries run with ClickHouse's `max_rows_to_read`,
//! `max_result_rows` and `max_execution_time`, so exceeding them is a clear
//! 4xx/503 rather than a long wait.

use serde_json::{json, Value};
use std::time::Duration;
use tracehouse_query::{QueryError, QueryLimits, StorageLimit};
use tracehouse_tests::{now_unix_nanos, otlp_json, TestApp};

/// `count` spans of service `shop`, ending now.
async fn send_spans(app: &TestApp, count: usize) -> anyhow::Result<()> {
    let now = now_unix_nanos();
    let spans: Vec<Value> = (0..count)
        .map(|index| {
            json!({
                "traceId": format!("{:032x}", index + 1),
                "spanId": format!("{:016x}", index + 1),
                "name": format!("op-{}", index % 7),
                "kind": 2,
                "startTimeUnixNano": (now - 2_000_000_000).to_string(),
                "endTimeUnixNano": (now - 1_000_000_000).to_string(),
            })
        })
        .collect();
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [otlp_json::attribute("service.name", json!("shop"))]},
        "scopeSpans": [{"spans": spans}],
    }]});
    otlp_json::post(app, "/v1/traces", &body).await?;
    // span_index, which the guarded reads use, gets its rows from the view
    // on spans within the same insert, just after spans does.
    app.wait_for_rows("SELECT count() FROM span_index", count as u64)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_longer_than_max_query_window_are_400_everywhere() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        config.max_query_window = Some("1h".to_owned());
    })
    .await?;
    for path in [
        "/api/v1/functions?from=0",
        "/api/v1/services?from=now-2h",
        "/api/v1/traces?from=now-61m",
        "/api/v1/map?from=0&to=now",
    ] {
        let (status, body) = app.get_json(path).await?;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains("max_query_window (1h)"), "{path}: {body}");
    }
    for path in [
        "/functions?from=0",
        "/traces?from=now-1d",
        "/map?from=now-2h",
    ] {
        let (status, page) = app.get_text(path).await?;
        assert_eq!(status, 400, "{path}");
        assert!(page.contains("max_query_window (1h)"), "{path}: {page}");
    }
    for path in [
        "/jaeger/api/traces?service=shop&start=0",
        "/jaeger/api/dependencies?lookback=86400000",
    ] {
        let (status, body) = app.get_json(path).await?;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["errors"][0]["msg"].as_str().unwrap_or_default();
        assert!(message.contains("max_query_window"), "{path}: {body}");
    }
    for path in [
        "/api/v1/services?from=now-59m",
        "/functions?from=now-1h",
        "/jaeger/api/services",
    ] {
        let (status, _) = app.get_text(path).await?;
        assert_eq!(status, 200, "{path}");
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_window_limit_is_the_retention() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.retention_days = 2).await?;
    let (status, body) = app.get_json("/api/v1/services?from=now-3d").await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|message| message.contains("max_query_window (2d)")));
    let (status, body) = app.get_json("/api/v1/services?from=now-2d").await?;
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = app.get_text("/metrics").await?;
    assert!(
        metrics.contains("tracehouse_query_requests_rejected_total{reason=\"overloaded\"} 0"),
        "the query guards are in place"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_more_rows_than_allowed_is_a_400_naming_the_setting() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.query_max_rows_to_read = 20).await?;
    send_spans(&app, 200).await?;
    for path in ["/api/v1/services", "/api/v1/traces?service=shop"] {
        let (status, body) = app.get_json(path).await?;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains("query_max_rows_to_read"), "{path}: {body}");
        assert!(!message.contains("DB::Exception"), "{path}: {body}");
    }
    let (status, page) = app.get_text("/traces?service=shop").await?;
    assert_eq!(status, 400);
    assert!(page.contains("Query stopped"), "{page}");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn returning_more_rows_than_allowed_is_a_400() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.query_max_result_rows = 3).await?;
    send_spans(&app, 50).await?;
    let (status, body) = app.get_json("/api/v1/services/shop/operations").await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|message| message.contains("query_max_result_rows")));
    app.stop().await
}

/// ClickHouse stops a query at `max_execution_time`; the read side tells
/// that from an outage.
#[tokio::test(flavor = "multi_thread")]
async fn a_query_over_its_time_is_stopped_and_told_apart() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let limits = QueryLimits {
        max_execution_time: Duration::from_secs(1),
        ..QueryLimits::default()
    };
    let query = tracehouse_query::QueryService::new(settings.client()?).with_limits(limits);
    let started = std::time::Instant::now();
    let outcome = query
        .client()
        .query("SELECT sleepEachRow(1) FROM system.numbers LIMIT 10")
        .fetch_all::<u8>()
        .await;
    let error = QueryError::from(outcome.expect_err("stopped by max_execution_time"));
    assert_eq!(
        error.storage_limit(),
        Some(StorageLimit::TooSlow),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    tracehouse_tests::drop_database(&settings).await
}

/// `max_result_rows` bounds the answer, not the subqueries an answer is
/// aggregated from (the functions list aggregates every invocation).
#[tokio::test(flavor = "multi_thread")]
async fn the_result_limit_bounds_the_answer_not_its_subqueries() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let limits = QueryLimits {
        max_result_rows: 3,
        ..QueryLimits::default()
    };
    let query = tracehouse_query::QueryService::new(settings.client()?).with_limits(limits);
    let counted = query
        .client()
        .query("SELECT count() FROM (SELECT number FROM system.numbers LIMIT 1000)")
        .fetch_one::<u64>()
        .await?;
    assert_eq!(counted, 1000);
    let refused = query
        .client()
        .query("SELECT number FROM system.numbers LIMIT 10")
        .fetch_all::<u64>()
        .await;
    let error = QueryError::from(refused.expect_err("ten rows over a limit of three"));
    assert_eq!(error.storage_limit(), Some(StorageLimit::TooManyRows));
    tracehouse_tests::drop_database(&settings).await
}
