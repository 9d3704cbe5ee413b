//! The RowBinary row encoder, proven on both versions: rows of the
//! collector's row types are encoded by the clickhouse crate exactly as
//! ingest sends them (captured by a plain HTTP endpoint) and must equal the
//! checked-in `tests/golden/rowbinary/<table>.bin`; the same rows written
//! through the real insert path to 18.16 read back as `<table>.tsv`; and
//! `tests/dialect/check_dialect.py` loads each `.bin` into 26.9 and must
//! read the same `.tsv`. `TRACEHOUSE_GOLDEN_UPDATE=1` rewrites the files.

use axum::body::Bytes;
use axum::extract::State;
use clickhouse::{RowOwned, RowWrite};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tracehouse_model::platform_report::aws_examples::{AWS_JSON_REPORT, SNAPSTART_LINE};
use tracehouse_model::{PlatformReport, ProjectId};
use tracehouse_schema::serverless_rows::PlatformReportRow;
use tracehouse_schema::signal_rows::{LogRow, MetricPointRow};
use tracehouse_schema::{apply_migrations, tables, ClickHouseSettings};

type Captured = Arc<Mutex<Vec<Bytes>>>;

async fn capture(State(captured): State<Captured>, body: Bytes) -> &'static str {
    captured.lock().expect("not poisoned").push(body);
    ""
}

/// An HTTP endpoint that keeps every request body and answers 200.
async fn capturing_endpoint() -> anyhow::Result<(String, Captured)> {
    let captured: Captured = Arc::default();
    let router = axum::Router::new()
        .fallback(capture)
        .with_state(Arc::clone(&captured));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((url, captured))
}

async fn insert<R: RowOwned + RowWrite>(
    client: &clickhouse::Client,
    table: &str,
    rows: &[R],
) -> anyhow::Result<()> {
    let mut insert = client.insert::<R>(table).await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await?;
    Ok(())
}

fn log_rows() -> Vec<LogRow> {
    vec![LogRow {
        project: "default".to_owned(),
        timestamp: 1_700_000_100,
        time_unix_nano: 1_700_000_100_123_456_789,
        observed_time_unix_nano: 1_700_000_100_200_000_000,
        trace_id: [0xfe; 16],
        span_id: [0x01; 8],
        flags: 1,
        severity_number: 17,
        severity_text: "ERROR".to_owned(),
        service: "checkout — café".to_owned(),
        body: "tab\there, newline\nhere, quote ' and backslash \\".to_owned(),
        body_type: 0,
        attribute_keys: vec!["http.route".to_owned(), "retry".to_owned()],
        attribute_values: vec!["/pay".to_owned(), "3".to_owned()],
        attribute_types: vec![0, 2],
        ..Default::default()
    }]
}

fn metric_rows() -> Vec<MetricPointRow> {
    vec![MetricPointRow {
        project: "default".to_owned(),
        timestamp: 1_700_000_160,
        time_unix_nano: 1_700_000_160_000_000_000,
        start_time_unix_nano: 1_700_000_090_000_000_000,
        service: "fn-m".to_owned(),
        metric_name: "faas.invoke_duration".to_owned(),
        metric_unit: "s".to_owned(),
        metric_type: 3,
        temporality: 2,
        series_hash: u64::MAX - 7,
        count: 5,
        sum: 0.75,
        min: -0.5,
        max: 1e300,
        has_min_max: 1,
        bucket_counts: vec![0, 3, 2, 0],
        explicit_bounds: vec![0.1, 0.2, 0.5],
        exp_scale: -3,
        ..Default::default()
    }]
}

fn report_rows() -> Vec<PlatformReportRow> {
    [AWS_JSON_REPORT, SNAPSTART_LINE]
        .iter()
        .filter_map(|text| PlatformReport::parse(text))
        .map(|report| {
            PlatformReportRow::from_report(
                &ProjectId::default(),
                &report,
                1_700_000_101_000_000_000,
                "fn-a",
                "svc1",
            )
        })
        .collect()
}

fn golden(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join("rowbinary")
        .join(file)
}

/// Compares `actual` with the checked-in file, or rewrites it on update.
fn check_file(file: &str, actual: &[u8], update: bool) -> anyhow::Result<()> {
    let path = golden(file);
    if update {
        std::fs::write(&path, actual)?;
        return Ok(());
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    anyhow::ensure!(
        expected == actual,
        "{} differs:\n  checked in: {}\n  now:        {}",
        path.display(),
        String::from_utf8_lossy(&expected).escape_debug(),
        String::from_utf8_lossy(actual).escape_debug()
    );
    Ok(())
}

async fn check_table<R: RowOwned + RowWrite>(
    table: &str,
    rows: &[R],
    capturing: &clickhouse::Client,
    captured: &Captured,
    live: &clickhouse::Client,
    update: bool,
) -> anyhow::Result<()> {
    captured.lock().expect("not poisoned").clear();
    insert(capturing, table, rows).await?;
    let bytes: Vec<u8> = captured
        .lock()
        .expect("not poisoned")
        .iter()
        .flat_map(|body| body.iter().copied())
        .collect();
    check_file(&format!("{table}.bin"), &bytes, update)?;
    check_file(
        &format!("{table}.columns"),
        R::COLUMN_NAMES.join(",").as_bytes(),
        update,
    )?;
    insert(live, table, rows).await?;
    let sql = format!(
        "SELECT {} FROM {table} FORMAT TabSeparated",
        R::COLUMN_NAMES.join(", ")
    );
    let read_back = live
        .query(&sql)
        .fetch_bytes("TabSeparated")?
        .collect()
        .await?;
    check_file(&format!("{table}.tsv"), &read_back, update)
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_encode_to_the_checked_in_bytes_and_read_back_alike() -> anyhow::Result<()> {
    let update = std::env::var("TRACEHOUSE_GOLDEN_UPDATE").is_ok_and(|value| value == "1");
    let settings = tracehouse_tests::fresh_database().await?;
    let live = settings.client()?;
    apply_migrations(&live).await?;
    let (url, captured) = capturing_endpoint().await?;
    let capturing = ClickHouseSettings {
        url,
        ..settings.clone()
    }
    .client()?;
    check_table(
        tables::LOGS,
        &log_rows(),
        &capturing,
        &captured,
        &live,
        update,
    )
    .await?;
    check_table(
        tables::METRIC_POINTS,
        &metric_rows(),
        &capturing,
        &captured,
        &live,
        update,
    )
    .await?;
    check_table(
        tables::PLATFORM_REPORTS,
        &report_rows(),
        &capturing,
        &captured,
        &live,
        update,
    )
    .await?;
    tracehouse_tests::drop_database(&settings).await?;
    Ok(())
}
