//! `tracehouse-bench pages`: server time of every dashboard page at a
//! given number of stored spans. The spans are the simulator's application
//! (the demo's generator and the ingest benchmark's workload), replayed with
//! new trace and message ids, and go through Tracehouse over OTLP/HTTP; then each page is
//! fetched `rounds` times over loopback and the median and slowest times
//! are printed. The time is the whole request on loopback, so it bounds
//! the server time from above.

use prost::Message;
use std::time::{Duration, Instant};
use tracehouse::Config;
use tracehouse_schema::{ManagedClickHouse, ManagedOptions};
use tracehouse_simulator::Workload;

const SPANS_PER_REQUEST: usize = 2_000;
/// Spans of the simulator's application generated once, then replayed with
/// new trace and message ids until the wanted number is stored.
const POOL_SPANS: u64 = 100_000;

/// The pages measured, and the functions API for comparison; `{trace}` is a stored trace id.
const PAGES: [&str; 10] = [
    "/api/v1/functions",
    "/",
    "/functions",
    "/functions/{function}",
    "/traces",
    "/traces?status=error",
    "/traces/{trace}",
    "/chains/{trace}",
    "/chains/broken",
    "/map",
];

const DATABASE: &str = "bench_pages";

/// How long before now the stored spans end: longer than the settler's delay.
const SETTLED_AGO: Duration = Duration::from_secs(180);
/// How long the settler may take to store them.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the bench reads ClickHouse itself.
struct ClickHouseHttp {
    url: String,
    user: String,
    password: String,
}

/// Waits until the settler's newest mark passes `end_unix_nano` and was
/// written by a pass that began after every span arrived (`stored_at_s`,
/// plus the arrival margin and a second for the serverless tables), so that
/// reads take nothing live; returns the mark in seconds.
async fn wait_until_settled(
    clickhouse: &ClickHouseHttp,
    end_unix_nano: u64,
    stored_at_s: u64,
) -> anyhow::Result<u64> {
    let started = Instant::now();
    let after =
        stored_at_s + u64::from(tracehouse_query::serverless::settle::ARRIVAL_MARGIN_SECONDS) + 1;
    let sql = format!(
        "SELECT until FROM (SELECT argMax(settled_until_unix_nano, written_unix_nano) AS until, \
         argMax(toUInt32(pass_started_at), written_unix_nano) AS started \
         FROM {DATABASE}.invocation_settle_marks) WHERE started > {after}"
    );
    loop {
        let response = reqwest::Client::new()
            .post(&clickhouse.url)
            .header("X-ClickHouse-User", &clickhouse.user)
            .header("X-ClickHouse-Key", &clickhouse.password)
            .body(sql.clone())
            .send()
            .await?;
        let text = response.error_for_status()?.text().await?;
        let mark: u64 = text.trim().parse().unwrap_or(0);
        if mark >= end_unix_nano {
            return Ok(mark / 1_000_000_000);
        }
        anyhow::ensure!(
            started.elapsed() < SETTLE_TIMEOUT,
            "not settled after {SETTLE_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Stores `spans`, then times each page `rounds` times; on the server at
/// `url` when given, else on a managed one.
pub async fn run(spans: u64, rounds: usize, url: Option<String>) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let managed;
    let external = url.is_some();
    let (url, user, password) = match url {
        Some(url) => {
            clickhouse_text(&url, &format!("DROP DATABASE IF EXISTS {DATABASE}")).await?;
            (url, "default".to_owned(), String::new())
        }
        None => {
            managed = ManagedClickHouse::start(ManagedOptions::in_directory(
                directory.path().join("clickhouse"),
            ))
            .await?;
            let settings = managed.settings("");
            (managed.url(), settings.user, settings.password)
        }
    };
    let since_seconds = now_nanos() / 1_000_000_000;
    let data_dir = tempfile::tempdir()?;
    let running = tracehouse::serve(Config {
        data_dir: data_dir.path().to_owned(),
        clickhouse_url: Some(url.clone()),
        clickhouse_user: user.clone(),
        clickhouse_password: password.clone().into(),
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
    // The simulated time ends before the settler's delay, so that the pages
    // are timed as a dashboard of settled minutes is, once it has settled them.
    let end = now_nanos() - SETTLED_AGO.as_nanos() as u64;
    let workload = Workload::generate(7, POOL_SPANS.min(spans), SPANS_PER_REQUEST, end);
    let stored = store(&http, &otlp, &base, &workload, spans).await?;
    let clickhouse = ClickHouseHttp {
        url: url.clone(),
        user: user.clone(),
        password: password.clone(),
    };
    let stored_at = now_nanos() / 1_000_000_000;
    let settled = wait_until_settled(&clickhouse, end, stored_at).await?;
    println!("settled: invocations starting before {settled} s are read from settled invocations");
    let trace = first_trace_id(&workload)?;
    let function = most_invoked_function(&http, &base).await?;
    let spans = stored;
    println!("pages at {spans} stored spans, {rounds} rounds each (loopback request time, ms):");
    for path in PAGES {
        let path = path
            .replace("{trace}", &trace)
            .replace("{function}", &function);
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
    if external {
        // A managed server keeps no query log.
        print_query_log(&url, since_seconds).await;
    }
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

/// Sends requests of `workload` through OTLP/HTTP until at least `spans`
/// are sent, waits until all are written, and returns how many were sent.
async fn store(
    http: &reqwest::Client,
    otlp: &str,
    base: &str,
    workload: &Workload,
    spans: u64,
) -> anyhow::Result<u64> {
    let mut sent = 0;
    let mut index = 0;
    while sent < spans {
        let request = workload
            .request(index)
            .ok_or_else(|| anyhow::anyhow!("the simulator made no spans"))?;
        let body = request.encode_to_vec();
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
        sent += workload.spans_in(index);
        index += 1;
    }
    while written_spans(http, base).await? < sent {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(sent)
}

/// Span rows written so far, from `/metrics`.
async fn written_spans(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|line| {
            line.strip_prefix("tracehouse_writer_rows_written_total{table=\"spans\"} ")
        })
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as u64)
}

/// The trace id of the first span of the first request, in hex.
fn first_trace_id(workload: &Workload) -> anyhow::Result<String> {
    let request = workload
        .request(0)
        .ok_or_else(|| anyhow::anyhow!("the simulator made no spans"))?;
    let span = request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .next()
        .ok_or_else(|| anyhow::anyhow!("the first request has no span"))?;
    Ok(span
        .trace_id
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The function with the most invocations, from the functions API.
async fn most_invoked_function(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let list: serde_json::Value = http
        .get(format!("{base}/api/v1/functions"))
        .send()
        .await?
        .json()
        .await?;
    list["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|function| function["invocations"].as_u64().unwrap_or(0))
        .and_then(|function| function["function"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no function in /api/v1/functions"))
}

fn now_nanos() -> u64 {
    tracehouse_model::time::now_unix_nano()
}
