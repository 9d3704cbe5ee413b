//! The writer's failure paths on live ClickHouse: a batch that keeps failing
//! is given up after `retry_give_up_after` (counted, its queue room given
//! back), a data error is given up at once, and shutdown waits no longer
//! than `shutdown_timeout_secs` for a ClickHouse that does not answer.

use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracehouse_collector::metrics::TableLabels;
use tracehouse_collector::{BatchWriter, WriterConfig, WriterMetrics};
use tracehouse_schema::signal_rows::LogRow;
use tracehouse_schema::{apply_migrations, tables};
use tracehouse_tests::chaos::ChaosProxy;
use tracehouse_tests::otlp_json::{attribute, post};
use tracehouse_tests::{clickhouse, fresh_database, now_unix_nanos, TestApp};

fn rows(count: usize) -> Vec<LogRow> {
    let now = now_unix_nanos();
    (0..count)
        .map(|number| LogRow {
            project: "default".to_owned(),
            timestamp: u32::try_from(now / 1_000_000_000).unwrap_or(u32::MAX),
            time_unix_nano: now,
            service: "svc".to_owned(),
            body: format!("line {number}"),
            ..Default::default()
        })
        .collect()
}

/// A proxy in front of the shared test server, to cut.
async fn proxy_to_clickhouse() -> anyhow::Result<ChaosProxy> {
    let target = clickhouse()
        .await?
        .url()
        .trim_start_matches("http://")
        .parse()?;
    ChaosProxy::start(target).await
}

fn short_retries() -> WriterConfig {
    WriterConfig {
        batch_max_rows: 100,
        batch_max_age: Duration::from_millis(20),
        queue_max_rows: 10,
        retry_initial_backoff: Duration::from_millis(20),
        retry_max_backoff: Duration::from_millis(50),
        retry_give_up_after: Duration::from_millis(400),
        ..WriterConfig::default()
    }
}

fn counter(metrics: &WriterMetrics, table: &'static str, written: bool) -> u64 {
    let family = if written {
        &metrics.rows_written
    } else {
        &metrics.rows_dropped
    };
    family.get_or_create(&TableLabels { table }).get()
}

/// Polls until `ready` holds (10 s at most).
async fn eventually(what: &str, ready: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        anyhow::ensure!(Instant::now() < deadline, "{what} after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_that_keeps_failing_is_given_up_counted_and_its_room_given_back(
) -> anyhow::Result<()> {
    let settings = fresh_database().await?;
    apply_migrations(&settings.client()?).await?;
    let proxy = proxy_to_clickhouse().await?;
    let via_proxy = tracehouse_schema::ClickHouseSettings {
        url: proxy.url(),
        ..settings.clone()
    };
    let metrics = WriterMetrics::register(&mut Registry::default());
    let (writer, _handle) = BatchWriter::spawn(
        via_proxy.client()?,
        tables::LOGS,
        short_retries(),
        Arc::clone(&metrics),
    );

    proxy.cut();
    let started = Instant::now();
    writer
        .try_submit(rows(10))
        .map_err(|_| anyhow::anyhow!("room for 10"))?;
    assert!(writer.try_submit(rows(1)).is_err(), "the queue is full");
    eventually("10 rows dropped", || {
        counter(&metrics, tables::LOGS, false) == 10
    })
    .await?;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "given up only after retry_give_up_after: {:?}",
        started.elapsed()
    );
    assert_eq!(writer.queued_rows(), 0, "room given back");

    // ClickHouse back: new rows are written.
    proxy.restore();
    writer
        .try_submit(rows(3))
        .map_err(|_| anyhow::anyhow!("room again"))?;
    eventually("3 rows written", || {
        counter(&metrics, tables::LOGS, true) == 3
    })
    .await?;
    assert_eq!(counter(&metrics, tables::LOGS, false), 10);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_error_is_given_up_at_once() -> anyhow::Result<()> {
    let settings = fresh_database().await?;
    let metrics = WriterMetrics::register(&mut Registry::default());
    let config = WriterConfig {
        retry_give_up_after: Duration::from_secs(300),
        ..short_retries()
    };
    // No migrations: the table does not exist (ClickHouse code 60).
    let (writer, _handle) = BatchWriter::spawn(
        settings.client()?,
        tables::LOGS,
        config,
        Arc::clone(&metrics),
    );
    writer
        .try_submit(rows(2))
        .map_err(|_| anyhow::anyhow!("room for 2"))?;
    eventually("2 rows dropped", || {
        counter(&metrics, tables::LOGS, false) == 2
    })
    .await?;
    let fatal = metrics
        .write_errors
        .get_or_create(&tracehouse_collector::metrics::WriteErrorLabels {
            table: tables::LOGS,
            kind: "fatal",
        })
        .get();
    assert_eq!(fatal, 1, "one attempt, not retried");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_waits_no_longer_than_its_drain_timeout() -> anyhow::Result<()> {
    let proxy = proxy_to_clickhouse().await?;
    let mut app = TestApp::start_with(|config| {
        config.clickhouse_url = Some(proxy.url());
        config.shutdown_timeout = Duration::from_secs(1).into();
    })
    .await?;
    proxy.cut();
    let now = now_unix_nanos();
    let spans = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", serde_json::json!("svc"))]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "work", "startTimeUnixNano": now.to_string(),
            "endTimeUnixNano": (now + 1000).to_string()}]}]}]});
    post(&app, "/v1/traces", &spans).await?;

    // The writer retries logged rows until ClickHouse answers; shutdown
    // stops waiting after one second, and the rows stay in the log.
    let running = app.running.take().expect("running");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), running.shutdown()).await??;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    proxy.restore();
    app.stop().await
}
