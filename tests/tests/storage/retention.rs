//! Retention on live ClickHouse 18.16: the loop of a running server (with a
//! short interval) drops old day partitions and forgets the instances none
//! of whose invocations is kept; and on a server whose time zone is not UTC
//! the days are the server's days.

use std::time::Duration;
use tracehouse::Timings;
use tracehouse_schema::retention::{drop_expired_partitions, DroppedPartition};
use tracehouse_schema::{apply_migrations, ManagedClickHouse, ManagedOptions};
use tracehouse_tests::TestApp;

const DAY_SECONDS: u64 = 86_400;

#[derive(clickhouse::Row, serde::Deserialize)]
struct Text {
    text: String,
}

async fn texts(client: &clickhouse::Client, sql: &str) -> anyhow::Result<Vec<String>> {
    let rows: Vec<Text> = client.query(sql).fetch_all().await?;
    Ok(rows.into_iter().map(|row| row.text).collect())
}

/// An invocation of `instance` that started `days_ago` days before now.
async fn insert_invocation(
    client: &clickhouse::Client,
    instance: &str,
    days_ago: u64,
    span: u8,
) -> anyhow::Result<()> {
    client
        .query(
            "INSERT INTO invocations (project, timestamp, start_time_unix_nano, duration_ns, \
             function, service, instance, trace_id, span_id) \
             SELECT 'default', toDateTime(start), toUInt64(start) * 1000000000, 5000000, \
             'worker', 'worker', ?, toFixedString(unhex(?), 16), toFixedString(unhex(?), 8) \
             FROM (SELECT toUInt32(now()) - ? AS start)",
        )
        .bind(instance)
        .bind(format!("{span:032x}"))
        .bind(format!("{span:016x}"))
        .bind(days_ago * DAY_SECONDS)
        .execute()
        .await?;
    Ok(())
}

/// Polls `sql` until it answers `expected` (20 s at most).
async fn wait_for_texts(
    client: &clickhouse::Client,
    sql: &str,
    expected: &[&str],
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = texts(client, sql).await?;
        if found == expected {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {found:?}, want {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_retention_loop_drops_old_days_and_forgets_their_instances() -> anyhow::Result<()> {
    let timings = Timings {
        retention_interval: Duration::from_millis(200),
        ..Timings::default()
    };
    let app = TestApp::start_with_timings(|config| config.retention_days = 2, timings).await?;
    let client = app.clickhouse_client();
    // Inserted after the server started: only a later round of the loop
    // can drop them. "gone" ran three days ago only, "alive" also today.
    insert_invocation(&client, "gone", 3, 1).await?;
    insert_invocation(&client, "alive", 3, 2).await?;
    insert_invocation(&client, "alive", 0, 3).await?;
    wait_for_texts(
        &client,
        "SELECT toString(count()) AS text FROM invocations",
        &["1"],
    )
    .await?;
    // The first starts of instances without kept invocations go too, so the
    // unpartitioned table is bounded by the instances of the kept days.
    wait_for_texts(
        &client,
        "SELECT instance AS text FROM instance_first_starts GROUP BY instance ORDER BY instance",
        &["alive"],
    )
    .await?;
    // "alive" keeps its first start of three days ago: today's invocation
    // is not taken for a cold start.
    let first = texts(
        &client,
        "SELECT hex(argMinMerge(first_span_id)) AS text FROM instance_first_starts",
    )
    .await?;
    assert_eq!(first, [format!("{:016X}", 2)]);
    app.stop().await
}

/// A time zone whose date differs from UTC's right now: UTC−12 before noon
/// UTC (its date is yesterday's), UTC+14 after (its date is tomorrow's).
fn zone_on_another_day() -> &'static str {
    let hour = (tracehouse_model::time::since_epoch().as_secs() / 3600) % 24;
    if hour < 12 {
        "Etc/GMT+12"
    } else {
        "Etc/GMT-14"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_counts_days_in_the_servers_time_zone() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let zone = zone_on_another_day();
    let server = ManagedClickHouse::start(ManagedOptions {
        timezone: zone.to_owned(),
        ..ManagedOptions::in_directory(directory.path())
    })
    .await?;
    let settings = server.settings("retention_zone");
    settings.ensure_database().await?;
    let client = settings.client()?;
    apply_migrations(&client).await?;
    let utc_today = texts(&client, "SELECT toString(toYYYYMMDD(now(), 'UTC')) AS text").await?;
    let server_days = texts(
        &client,
        "SELECT toString(toYYYYMMDD(now() - number * 86400)) AS text FROM system.numbers LIMIT 3",
    )
    .await?;
    assert_ne!(
        server_days[..1],
        utc_today,
        "{zone} is on another day than UTC"
    );

    // A log record today, yesterday and the day before, in the server's days.
    for days_ago in 0..3u64 {
        client
            .query(
                "INSERT INTO logs (project, timestamp, service, body) \
                 SELECT 'default', now() - ?, 'svc', 'line'",
            )
            .bind(days_ago * DAY_SECONDS)
            .execute()
            .await?;
    }
    // Keeping 2 days keeps today and yesterday of the server, whatever
    // UTC's date is, and drops the day before.
    let dropped = drop_expired_partitions(&client, 2).await?;
    assert_eq!(
        dropped,
        [DroppedPartition {
            table: "logs".to_owned(),
            partition_id: server_days[2].clone(),
        }]
    );
    let kept = texts(
        &client,
        "SELECT toString(toYYYYMMDD(timestamp)) AS text FROM logs ORDER BY timestamp DESC",
    )
    .await?;
    assert_eq!(kept, server_days[..2]);
    drop(server);
    Ok(())
}
