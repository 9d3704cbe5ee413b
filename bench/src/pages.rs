//! `tracehouse-bench pages`: server time of every dashboard page at a
//! given number of stored spans. Spans (FaaS-shaped, 10 per trace, eight
//! functions) go through Tracehouse over OTLP/HTTP; then each page is
//! fetched `rounds` times over loopback and the median and slowest times
//! are printed. The time is the whole request on loopback, so it bounds
//! the server time from above.

use crate::ingest::{now_nanos, request};
use prost::Message;
use std::time::{Duration, Instant};
use tracehouse::Config;
use tracehouse_schema::{ManagedClickHouse, ManagedOptions};

const SPANS_PER_REQUEST: u64 = 2_000;

/// The pages measured, and the functions API for comparison; `{trace}` is a stored trace id.
const PAGES: [&str; 10] = [
    "/api/v1/functions",
    "/",
    "/functions",
    "/functions/function-0",
    "/traces",
    "/traces?status=error",
    "/traces/{trace}",
    "/chains/{trace}",
    "/chains/broken",
    "/map",
];

const DATABASE: &str = "bench_pages";

/// Stores `spans`, then times each page `rounds` times; on the server at
/// `url` when given, else on a managed one.
pub async fn run(spans: u64, rounds: usize, url: Option<String>) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let managed;
    let url = match url {
        Some(url) => {
            clickhouse_text(&url, &format!("DROP DATABASE IF EXISTS {DATABASE}")).await?;
            url
        }
        None => {
            managed = ManagedClickHouse::start(ManagedOptions::in_directory(
                directory.path().join("clickhouse"),
            ))
            .await?;
            managed.url()
        }
    };
    let since_seconds = now_nanos() / 1_000_000_000;
    let data_dir = tempfile::tempdir()?;
    let running = tracehouse::serve(Config {
        data_dir: data_dir.path().to_owned(),
        clickhouse_url: Some(url.clone()),
        clickhouse_database: DATABASE.to_owned(),
        otlp_grpc_addr: "127.0.0.1:0".parse()?,
        otlp_http_addr: "127.0.0.1:0".parse()?,
        http_addr: "127.0.0.1:0".parse()?,
        ..Config::default()
    })
    .await?;
    let http = reqwest::Client::new();
    let base = format!("http://{}", running.addresses.http);
    let otlp = format!(
        "http://{}/v1/traces",
        running
            .addresses
            .otlp_http
            .unwrap_or(running.addresses.http)
    );
    store(&http, &otlp, &base, spans).await?;
    // Trace 0 of `ingest::request`: its id is 1 then 0x5bd1e995, big-endian.
    let trace = format!("{:016x}{:016x}", 1u64, 0x5bd1_e995u64);
    println!("pages at {spans} stored spans, {rounds} rounds each (loopback request time, ms):");
    for path in PAGES {
        let path = path.replace("{trace}", &trace);
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds.max(1) {
            let started = Instant::now();
            let response = http.get(format!("{base}{path}")).send().await?;
            let status = response.status();
            response.bytes().await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(status.is_success(), "{path}: {status}");
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        let slowest = times.last().copied().unwrap_or(0.0);
        println!("  {path:<48} median {median:>8.1}  slowest {slowest:>8.1}");
    }
    running.shutdown().await?;
    print_query_log(&url, since_seconds).await;
    Ok(())
}

/// The statements run since `since_seconds` other than inserts, named by
/// their first line (a template's is its comment), by total time, from `system.query_log` when the server keeps one (a
/// managed server does not; the columns are those of ClickHouse 18.16).
async fn print_query_log(url: &str, since_seconds: u64) {
    let _ = clickhouse_text(url, "SYSTEM FLUSH LOGS").await;
    let sql = format!(
        "SELECT count() AS runs, round(avg(query_duration_ms)) AS avg_ms, \
         round(avg(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'OSCPUVirtualTimeMicroseconds')]) / 1000) AS avg_cpu_ms, \
         round(avg(read_rows)) AS avg_rows_read, round(avg(memory_usage) / 1048576) AS avg_mib, \
         substring(splitByChar('\\n', query)[1], 1, 100) AS statement \
         FROM system.query_log WHERE type = 2 AND query_start_time >= toDateTime({since_seconds}) \
         AND query NOT LIKE 'INSERT%' AND query NOT LIKE '%system.%' \
         GROUP BY statement ORDER BY sum(query_duration_ms) DESC \
         LIMIT 30 FORMAT PrettyCompactNoEscapes"
    );
    match clickhouse_text(url, &sql).await {
        Ok(table) => println!("queries of the run, by total time:\n{table}"),
        Err(error) => println!("no query log ({error})"),
    }
}

/// The text answer of one statement on the server at `url`.
async fn clickhouse_text(url: &str, sql: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(url)
        .body(sql.to_owned())
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{status}: {text}");
    Ok(text)
}

/// Sends `spans` through OTLP/HTTP and waits until all are written.
async fn store(http: &reqwest::Client, otlp: &str, base: &str, spans: u64) -> anyhow::Result<()> {
    let now = now_nanos();
    let requests = spans.div_ceil(SPANS_PER_REQUEST);
    for number in 0..requests {
        let body = request(number, SPANS_PER_REQUEST, now).encode_to_vec();
        loop {
            let response = http
                .post(otlp)
                .header("content-type", "application/x-protobuf")
                .body(body.clone())
                .send()
                .await?;
            if response.status().is_success() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let wanted = requests * SPANS_PER_REQUEST;
    loop {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let written = text
            .lines()
            .find_map(|line| {
                line.strip_prefix("tracehouse_writer_rows_written_total{table=\"spans\"} ")
            })
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if written as u64 >= wanted {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
