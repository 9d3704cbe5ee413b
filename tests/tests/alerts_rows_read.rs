//! One evaluation of grouped rules reads each window once for every
//! function at once, and its rows read are bounded by the window (the day
//! partitions it touches), not by the table: an evaluation over the last
//! five minutes reads as much with 300,000 older invocations stored as with
//! 600,000, while a window over the older rows reads them all. What is read is ClickHouse's own counter, taken
//! around the evaluation: `system.events` `SelectedMarks` (18.16 has no
//! `SelectedRows`); a mark is at most 8,192 rows (`index_granularity`).

use std::sync::Mutex;
use std::time::Duration;
use tracehouse_alerting::config::AlertsConfig;
use tracehouse_alerting::ingest_health::{CounterSource, RejectedSamples};
use tracehouse_alerting::observe::Reads;
use tracehouse_model::ProjectId;
use tracehouse_query::QueryService;
use tracehouse_schema::serverless_rows::InvocationRow;
use tracehouse_tests::{now_unix_nanos, TestApp};

const OLD_ROWS: u64 = 300_000;
const RECENT_ROWS: u64 = 200;
const FUNCTIONS: u64 = 50;

fn invocation(start: u64, number: u64) -> InvocationRow {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&number.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    trace_id[8..].copy_from_slice(&number.to_be_bytes());
    InvocationRow {
        project: "default".to_owned(),
        timestamp: (start / 1_000_000_000) as u32,
        start_time_unix_nano: start,
        duration_ns: 20_000_000,
        function: format!("function-{}", number % FUNCTIONS),
        service: format!("function-{}", number % FUNCTIONS),
        provider: "aws".to_owned(),
        region: "eu-west-1".to_owned(),
        function_version: String::new(),
        instance: format!("instance-{}", number % FUNCTIONS),
        trigger: String::new(),
        invocation_id: String::new(),
        trace_id,
        span_id: (number + 1).to_be_bytes(),
        is_error: u8::from(number.is_multiple_of(7)),
        coldstart_attribute: 0,
        memory_mb: 128,
        arch: "x86_64".to_owned(),
    }
}

/// Inserts [`OLD_ROWS`] invocations, 100 ms apart from `start`.
async fn insert_old_rows(
    client: &clickhouse::Client,
    start: u64,
    first: u64,
) -> anyhow::Result<()> {
    let mut insert = client.insert::<InvocationRow>("invocations").await?;
    for number in 0..OLD_ROWS {
        insert
            .write(&invocation(start + number * 100_000_000, first + number))
            .await?;
    }
    Ok(insert.end().await?)
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Counter {
    value: u64,
}

/// Rows one mark holds at most.
const GRANULE_ROWS: u64 = 8192;

/// Upper bound of the rows read so far: marks selected times their size.
async fn selected_rows(client: &clickhouse::Client) -> anyhow::Result<u64> {
    let rows: Vec<Counter> = client
        .query("SELECT value * 8192 AS value FROM system.events WHERE event = 'SelectedMarks'")
        .fetch_all()
        .await?;
    Ok(rows.first().map_or(0, |row| row.value))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grouped_evaluation_reads_the_window_not_the_table() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let client = app.clickhouse_client();
    let now = now_unix_nanos();
    let three_days = 3 * 86_400 * 1_000_000_000;
    insert_old_rows(&client, now - three_days, 0).await?;
    let mut insert = client.insert::<InvocationRow>("invocations").await?;
    for number in 0..RECENT_ROWS {
        insert
            .write(&invocation(
                now - 60_000_000_000 + number * 1_000_000,
                OLD_ROWS + number,
            ))
            .await?;
    }
    insert.end().await?;

    let section: toml::Table = toml::from_str(
        "[[receivers]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/hook\"\n\
         [[rules]]\nname = \"errors\"\nsignal = \"error_rate\"\ngroup_by = \"function\"\nop = \">\"\nthreshold = 0.5\nwindow = \"5m\"\nreceivers = [\"ops\"]\n\
         [[rules]]\nname = \"slow\"\nsignal = \"p95_ms\"\ngroup_by = \"function\"\nop = \">\"\nthreshold = 1000\nwindow = \"5m\"\nreceivers = [\"ops\"]\n\
         [[rules]]\nname = \"budget\"\nsignal = \"cost_usd\"\ngroup_by = \"function\"\nop = \">\"\nthreshold = 10\nwindow = \"5m\"\nreceivers = [\"ops\"]\n",
    )?;
    let config = AlertsConfig::from_table(&section)?;
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    let query = QueryService::new(client.clone());
    let project = ProjectId::default();
    let samples = Mutex::new(RejectedSamples::default());
    let http = reqwest::Client::new();
    let evaluate = |rules: Vec<tracehouse_alerting::config::Rule>| {
        let (query, project, samples, http) = (&query, &project, &samples, &http);
        async move {
            Reads::gather(
                query,
                project,
                &rules,
                now_unix_nanos(),
                &CounterSource::None,
                samples,
                http,
            )
            .await
        }
    };
    let mut wide = config.rules[..1].to_vec();
    wide[0].window = Duration::from_secs(4 * 86_400);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let before = selected_rows(&client).await?;
    let reads = evaluate(config.rules.clone()).await;
    let all_three = selected_rows(&client).await? - before;
    let before = selected_rows(&client).await?;
    evaluate(config.rules[..1].to_vec()).await;
    let one_rule = selected_rows(&client).await? - before;
    insert_old_rows(&client, now - 2 * three_days / 3, OLD_ROWS + RECENT_ROWS).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = selected_rows(&client).await?;
    evaluate(config.rules.clone()).await;
    let twice_the_rows = selected_rows(&client).await? - before;
    let before = selected_rows(&client).await?;
    evaluate(wide).await;
    let four_days = selected_rows(&client).await? - before;

    let values = reads.values(
        &config.rules[0],
        &Default::default(),
        now_unix_nanos(),
        &samples,
    );
    let values = values.map_err(anyhow::Error::msg)?;
    assert_eq!(values.len() as u64, FUNCTIONS, "every function in one read");
    assert!(values.iter().all(|(_, value)| value.is_some()));
    assert!(
        all_three < OLD_ROWS && twice_the_rows < OLD_ROWS,
        "an evaluation read {all_three} rows with {OLD_ROWS} older rows, {twice_the_rows} with twice as many"
    );
    // Doubling the table adds no invocation marks; instance_first_starts (a
    // row per instance, not per invocation) may show an unmerged part or two.
    assert!(
        twice_the_rows <= all_three + 4 * GRANULE_ROWS,
        "{all_three} rows, then {twice_the_rows} with twice the table"
    );
    assert!(all_three >= RECENT_ROWS, "it reads the window: {all_three}");
    assert!(
        four_days >= OLD_ROWS && four_days > 5 * all_three,
        "a window over the older rows reads them: {four_days} vs {all_three}"
    );
    // Three rules on one window share one read: the same marks as one rule,
    // give or take the unmerged part or two of instance_first_starts above.
    // Three reads would select three times as many.
    assert!(
        all_three.abs_diff(one_rule) <= 4 * GRANULE_ROWS,
        "three rules {all_three}, one rule {one_rule}"
    );
    app.stop().await
}
