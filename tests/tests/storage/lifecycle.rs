//! Retention and graceful shutdown.

use serde_json::json;
use std::time::Duration;
use tracehouse_tests::{now_unix_nanos, TestApp};

#[derive(clickhouse::Row, serde::Deserialize)]
struct Count {
    count: u64,
}

async fn count(client: &clickhouse::Client, sql: &str) -> anyhow::Result<u64> {
    Ok(client.query(sql).fetch_one::<Count>().await?.count)
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_writes_every_accepted_span() -> anyhow::Result<()> {
    // Batches would wait a minute: only shutdown can have written them.
    let app = TestApp::start_with(|config| {
        config.batch_max_age = Duration::from_secs(60).into();
        config.batch_max_rows = 1_000_000;
        config.queue_max_rows = 1_000_000;
    })
    .await?;
    let now = now_unix_nanos();
    let spans: Vec<_> = (1..=250u64)
        .map(|number| {
            json!({"traceId": "3b8efff798038103d269b633813fc60c", "spanId": format!("{number:016x}"),
                   "name": "step", "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 1).to_string()})
        })
        .collect();
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]});
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let client = app.clickhouse_client();
    assert_eq!(
        count(&client, "SELECT count() AS count FROM spans").await?,
        0,
        "still queued"
    );
    let mut app = app;
    let running = app.running.take().expect("running");
    running.shutdown().await?;
    assert_eq!(
        count(&client, "SELECT count() AS count FROM spans").await?,
        250
    );
    assert_eq!(
        count(&client, "SELECT count() AS count FROM span_index").await?,
        250
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_drops_whole_days_older_than_the_setting() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let client = app.clickhouse_client();
    // One span per day for the last 10 days, written directly (ingest would refuse old ones).
    for days_ago in 0..10u32 {
        client
            .query(
                "INSERT INTO spans (project, timestamp, start_time_unix_nano, trace_id, span_id, service, name) \
                 SELECT 'default', now() - ? * 86400, toUInt64(now() - ? * 86400) * 1000000000, \
                 toFixedString(unhex('0af7651916cd43dd8448eb211c80319c'), 16), \
                 toFixedString(reinterpretAsString(toUInt64(? + 1)), 8), 'svc', 'op'",
            )
            .bind(days_ago)
            .bind(days_ago)
            .bind(days_ago)
            .execute()
            .await?;
    }
    assert_eq!(
        count(&client, "SELECT count() AS count FROM span_index").await?,
        10
    );
    let dropped = tracehouse_schema::retention::drop_expired_partitions(&client, 3).await?;
    // Days 3 to 9 ago, from spans, span_index and trace_time_index.
    assert_eq!(dropped.len(), 21, "{dropped:?}");
    assert_eq!(
        count(&client, "SELECT count() AS count FROM spans").await?,
        3
    );
    assert_eq!(
        count(&client, "SELECT count() AS count FROM span_index").await?,
        3
    );
    assert!(
        tracehouse_schema::retention::drop_expired_partitions(&client, 3)
            .await?
            .is_empty()
    );
    app.stop().await
}
