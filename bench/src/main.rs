//! `tracehouse-bench trace-lookup`: how many rows ClickHouse reads, and how
//! long it takes, to fetch one trace by id from `trace_spans` (sorted by
//! trace id) versus `spans` (sorted by service, name and time), at a given
//! table size. Spans are generated inside ClickHouse, spread over seven
//! days like a week of retention.
//!
//! `cargo run --release -p tracehouse-bench -- trace-lookup --spans 10000000`
//!
//! `tracehouse-bench ingest`: see [`ingest`]; `tracehouse-bench pages`: see [`pages`].

mod ingest;
mod pages;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::time::Instant;
use tracehouse_schema::{ClickHouseSettings, ManagedClickHouse, ManagedOptions};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rows read and latency of a trace lookup.
    TraceLookup {
        /// Spans to generate.
        #[arg(long, default_value_t = 10_000_000)]
        spans: u64,
        /// Spans per trace.
        #[arg(long, default_value_t = 10)]
        spans_per_trace: u64,
        /// Lookups to measure.
        #[arg(long, default_value_t = 50)]
        lookups: u64,
        /// Existing ClickHouse to use (a database `tracehouse_bench` is created); a managed one otherwise.
        #[arg(long)]
        clickhouse_url: Option<String>,
    },
    /// Spans per second through Tracehouse against a direct ClickHouse insert.
    Ingest {
        /// Spans to send.
        #[arg(long, default_value_t = 1_000_000)]
        spans: u64,
        /// Spans per OTLP request.
        #[arg(long, default_value_t = 1_000)]
        spans_per_request: u64,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Server time of every dashboard page at a number of stored spans.
    Pages {
        /// Spans to store first.
        #[arg(long, default_value_t = 1_000_000)]
        spans: u64,
        /// Fetches of each page.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Existing ClickHouse to use (its database `bench_pages` is dropped
        /// first); with a `query_log`, the slowest queries are listed too.
        #[arg(long)]
        clickhouse_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::TraceLookup {
            spans,
            spans_per_trace,
            lookups,
            clickhouse_url,
        } => {
            trace_lookup(
                spans,
                spans_per_trace.max(1),
                lookups.max(1),
                clickhouse_url,
            )
            .await
        }
        Command::Ingest {
            spans,
            spans_per_request,
            concurrency,
        } => ingest::run(spans, spans_per_request.max(1), concurrency.max(1)).await,
        Command::Pages {
            spans,
            rounds,
            clickhouse_url,
        } => pages::run(spans, rounds, clickhouse_url).await,
    }
}

/// The statistics ClickHouse returns with `FORMAT JSON`.
struct Statistics {
    rows: u64,
    rows_read: u64,
    elapsed_ms: f64,
}

async fn run_json(
    http: &reqwest::Client,
    settings: &ClickHouseSettings,
    sql: &str,
) -> anyhow::Result<Statistics> {
    let response = http
        .post(&settings.url)
        .query(&[("database", settings.database.as_str())])
        .body(format!("{sql} FORMAT JSON"))
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{status}: {text}");
    let body: Value = serde_json::from_str(&text)?;
    Ok(Statistics {
        rows: body["rows"].as_u64().unwrap_or(0),
        rows_read: body["statistics"]["rows_read"].as_u64().unwrap_or(0),
        elapsed_ms: body["statistics"]["elapsed"].as_f64().unwrap_or(0.0) * 1000.0,
    })
}

async fn execute(
    http: &reqwest::Client,
    settings: &ClickHouseSettings,
    sql: &str,
) -> anyhow::Result<()> {
    let response = http
        .post(&settings.url)
        .query(&[("database", settings.database.as_str())])
        .body(sql.to_owned())
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{status}: {}", response.text().await?);
    Ok(())
}

/// A generated trace id (32 hex characters) for trace number `trace`.
fn trace_id_sql(trace: &str) -> String {
    format!(
        "toFixedString(concat(reinterpretAsString(cityHash64({trace})), reinterpretAsString(cityHash64({trace}, 1))), 16)"
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn trace_lookup(
    spans: u64,
    spans_per_trace: u64,
    lookups: u64,
    url: Option<String>,
) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let managed;
    let settings = match url {
        Some(url) => ClickHouseSettings {
            url,
            user: "default".to_owned(),
            password: String::new(),
            database: "tracehouse_bench".to_owned(),
        },
        None => {
            managed = ManagedClickHouse::start(ManagedOptions::in_directory(
                directory.path().join("clickhouse"),
            ))
            .await?;
            managed.settings("tracehouse_bench")
        }
    };
    settings.ensure_database().await?;
    let client = settings.client()?;
    tracehouse_schema::apply_migrations(&client).await?;
    let http = reqwest::Client::new();
    execute(&http, &settings, "TRUNCATE TABLE spans").await?;
    execute(&http, &settings, "TRUNCATE TABLE trace_spans").await?;

    let trace = format!("intDiv(number, {spans_per_trace})");
    let started = Instant::now();
    let chunk = 5_000_000u64;
    let mut offset = 0;
    while offset < spans {
        let count = chunk.min(spans - offset);
        // Traces spread evenly over 7 days; 50 services with 20 operations each.
        let insert = format!(
            "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns, \
             trace_id, span_id, parent_span_id, service, name, kind, status_code, attribute_keys, attribute_values, \
             attribute_types) \
             SELECT 'default', toDateTime(toUInt32(now()) - 604800 + intDiv({trace} * 604800, {traces})), \
             toUInt64(toUInt32(now()) - 604800 + intDiv({trace} * 604800, {traces})) * 1000000000 + number % {spans_per_trace}, \
             toUInt64(toUInt32(now()) - 604800 + intDiv({trace} * 604800, {traces})) * 1000000000 + 5000000, 5000000, \
             {trace_id}, toFixedString(reinterpretAsString(cityHash64(number, 2)), 8), \
             toFixedString(reinterpretAsString(toUInt64(0)), 8), \
             concat('service-', toString(cityHash64({trace}) % 50)), concat('operation-', toString(number % 20)), \
             'server', 'unset', ['faas.trigger'], ['http'], [0] \
             FROM numbers({offset}, {count})",
            traces = spans.div_ceil(spans_per_trace),
            trace_id = trace_id_sql(&trace),
        );
        execute(&http, &settings, &insert)
            .await
            .context("generating spans")?;
        offset += count;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    execute(&http, &settings, "OPTIMIZE TABLE trace_spans FINAL").await?;
    execute(&http, &settings, "OPTIMIZE TABLE spans FINAL").await?;
    println!(
        "generated {spans} spans ({} traces) in {load_seconds:.1} s, {:.0} spans/s inserted (copy into trace_spans included)",
        spans / spans_per_trace,
        spans as f64 / load_seconds
    );

    let traces = spans / spans_per_trace;
    let mut results = Vec::new();
    for (table, template) in [
        (
            "trace_spans (ORDER BY project, trace_id)",
            tracehouse_query::sql::TRACE_SPANS_BY_TRACE_ID
                .sql()
                .to_owned(),
        ),
        (
            "spans (ORDER BY project, service, name, timestamp)",
            tracehouse_query::sql::TRACE_SPANS_BY_TRACE_ID
                .sql()
                .replace("FROM trace_spans", "FROM spans"),
        ),
    ] {
        let mut rows_read = Vec::new();
        let mut elapsed = Vec::new();
        for lookup in 0..lookups {
            let trace_number = (lookup * 7_919 + 13) % traces;
            let sql = template
                .replacen("?fields", "*", 1)
                .replacen('?', "'default'", 1)
                .replacen(
                    "unhex(?)",
                    &format!("unhex(hex({}))", trace_id_sql(&trace_number.to_string())),
                    1,
                );
            let statistics = run_json(&http, &settings, &sql).await?;
            anyhow::ensure!(
                statistics.rows == spans_per_trace,
                "lookup found {} spans",
                statistics.rows
            );
            rows_read.push(statistics.rows_read as f64);
            elapsed.push(statistics.elapsed_ms);
        }
        let rows = median(&mut rows_read);
        let ms = median(&mut elapsed);
        println!("{table}: median rows read {rows:.0}, median {ms:.2} ms over {lookups} lookups");
        results.push((rows, ms));
    }
    if let [(fast_rows, fast_ms), (slow_rows, slow_ms)] = results[..] {
        println!(
            "ratio spans/trace_spans: {:.0}x rows read, {:.1}x time",
            slow_rows / fast_rows.max(1.0),
            slow_ms / fast_ms.max(0.001)
        );
    }
    Ok(())
}
