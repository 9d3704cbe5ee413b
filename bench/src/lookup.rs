//! `tracehouse-bench trace-lookup`: query latency at a number of stored
//! spans, while ingest runs: trace by id, trace search, the functions list
//! of 24 hours and a chain, each p50 and p99 over many runs through the
//! query crate (what the API pays: ClickHouse, HTTP and decoding), and the
//! bytes on disk per span of every table together.
//!
//! The data has the simulator's shape: one pool of the simulator's
//! application (its spans and the invocations the collector derives from
//! them) is stored once, then copied inside ClickHouse as many times as
//! needed, each copy with new trace ids (links follow), id-like attribute
//! values made unique per copy, and times spread over seven days. During
//! the measurements a background task keeps inserting copies at the
//! current time (`--ingest-spans-per-second`, 2,000 by default).
//!
//! `cargo run --release -p tracehouse-bench -- trace-lookup` (10 million
//! spans, every query); `--spans 100000000 --trace-by-id-only` for 100
//! million.

use anyhow::Context;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracehouse_collector::otlp::convert::{convert_resource_spans, TimeWindow as SpanWindow};
use tracehouse_collector::SpanLimits;
use tracehouse_model::{ProjectId, TraceId};
use tracehouse_query::search::TraceSearch;
use tracehouse_query::{QueryService, TimeWindow};
use tracehouse_schema::rows::{SpanRow, SpanRowEncoder};
use tracehouse_schema::serverless_rows::InvocationRow;
use tracehouse_schema::{ClickHouseSettings, ManagedClickHouse, ManagedOptions};
use tracehouse_simulator::Workload;

/// What to measure.
pub struct Options {
    pub spans: u64,
    pub pool_spans: u64,
    pub runs: usize,
    pub ingest_spans_per_second: u64,
    pub trace_by_id_only: bool,
    pub clickhouse_url: Option<String>,
}

const WEEK_SECONDS: u64 = 7 * 86_400;
const NANOS: u64 = 1_000_000_000;

/// The columns of `spans`, in the order of its table.
const SPAN_COLUMNS: &str = "project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns, \
    trace_id, span_id, parent_span_id, trace_state, flags, service, name, kind, status_code, status_message, \
    attribute_keys, attribute_values, attribute_types, resource_keys, resource_values, resource_types, \
    scope_name, scope_version, event_times_unix_nano, event_names, event_attributes, link_trace_ids, \
    link_span_ids, link_trace_states, link_attributes, dropped_attributes_count, dropped_events_count, \
    dropped_links_count";

/// Trace id `id` of copy `copy` (SQL): 16 bytes from two hashes.
fn copied_trace_id(id: &str) -> String {
    format!(
        "toFixedString(concat(reinterpretAsString(cityHash64({id}, copy)), reinterpretAsString(cityHash64({id}, copy, 1))), 16)"
    )
}

/// An attribute value of copy `copy` (SQL): id-like values (keys ending in
/// `id`, `.url`, `.target` or `.statement`) unique per copy, the rest as in the pool.
fn copied_values(keys: &str, values: &str) -> String {
    format!(
        "arrayMap((k, v) -> if(endsWith(k, 'id') OR endsWith(k, '.url') OR endsWith(k, '.target') OR endsWith(k, '.statement'), \
         concat(v, '-', lower(hex(cityHash64(v, copy)))), v), {keys}, {values})"
    )
}

/// Where copies go: copy `c` of the pool (whose first second is
/// `pool_first_second`) starts at `first_second + c * step_seconds`.
#[derive(Clone, Copy)]
struct Placement {
    pool_first_second: u64,
    first_second: u64,
    step_seconds: u64,
}

impl Placement {
    /// Seconds to add to a pool time for copy `copy` (SQL).
    fn shift(&self) -> String {
        format!(
            "(toInt64({}) + toInt64(copy) * {} - toInt64({}))",
            self.first_second, self.step_seconds, self.pool_first_second
        )
    }
}

/// `INSERT ... SELECT` of copies `first..first + count` of the span pool
/// (at most `limit` spans).
fn copy_spans_sql(first: u64, count: u64, placement: Placement, limit: u64) -> String {
    let shift = placement.shift();
    format!(
        "INSERT INTO spans ({SPAN_COLUMNS}) SELECT project, toDateTime(toInt64(timestamp) + {shift}), \
         toUInt64(toInt64(start_time_unix_nano) + {shift} * {NANOS}), toUInt64(toInt64(end_time_unix_nano) + {shift} * {NANOS}), \
         duration_ns, {trace_id}, span_id, parent_span_id, trace_state, flags, service, name, kind, status_code, status_message, \
         attribute_keys, {attributes}, attribute_types, resource_keys, resource_values, resource_types, \
         scope_name, scope_version, arrayMap(t -> toUInt64(toInt64(t) + {shift} * {NANOS}), event_times_unix_nano), event_names, \
         event_attributes, arrayMap(l -> {link}, link_trace_ids), link_span_ids, link_trace_states, link_attributes, \
         dropped_attributes_count, dropped_events_count, dropped_links_count \
         FROM bench_pool_spans CROSS JOIN (SELECT number AS copy FROM numbers({first}, {count})) AS copies \
         LIMIT {limit}",
        trace_id = copied_trace_id("trace_id"),
        link = copied_trace_id("l"),
        attributes = copied_values("attribute_keys", "attribute_values"),
    )
}

/// The same for the invocations the collector derived from the pool.
fn copy_invocations_sql(first: u64, count: u64, placement: Placement) -> String {
    let shift = placement.shift();
    format!(
        "INSERT INTO invocations (project, timestamp, start_time_unix_nano, duration_ns, function, service, provider, \
         region, function_version, instance, trigger, invocation_id, trace_id, span_id, is_error, coldstart_attribute, \
         memory_mb, arch) SELECT project, toDateTime(toInt64(timestamp) + {shift}), \
         toUInt64(toInt64(start_time_unix_nano) + {shift} * {NANOS}), duration_ns, function, service, provider, region, \
         function_version, concat(instance, '-', toString(intDiv(copy, 100))), trigger, \
         if(invocation_id = '', '', concat(invocation_id, '-', toString(copy))), {trace_id}, span_id, is_error, \
         coldstart_attribute, memory_mb, arch \
         FROM bench_pool_invocations CROSS JOIN (SELECT number AS copy FROM numbers({first}, {count})) AS copies",
        trace_id = copied_trace_id("trace_id"),
    )
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct PoolRow {
    spans: u64,
    first_second: u32,
}

/// Stores one pool of the simulator's application in `bench_pool_spans`
/// and `bench_pool_invocations`; returns its spans and its first second.
async fn store_pool(
    client: &clickhouse::Client,
    pool_spans: u64,
    now_nanos: u64,
) -> anyhow::Result<(u64, u64)> {
    for (pool, table) in [
        ("bench_pool_spans", "spans"),
        ("bench_pool_invocations", "invocations"),
    ] {
        client
            .query(&format!("CREATE TABLE {pool} AS {table} ENGINE = Memory"))
            .execute()
            .await?;
    }
    let workload = Workload::generate(7, pool_spans, 1_000, now_nanos);
    let window = SpanWindow::around_now(Duration::from_secs(86_400), Duration::from_secs(86_400));
    let project = ProjectId::default();
    let mut encoder = SpanRowEncoder::new(&project);
    let (mut spans, mut invocations) = (Vec::new(), Vec::new());
    for request in (0..workload.requests_per_pass()).filter_map(|index| workload.request(index)) {
        let converted =
            convert_resource_spans(request.resource_spans, window, &SpanLimits::default()).spans;
        invocations.extend(
            tracehouse_collector::invocations::invocations_from_spans(&converted)
                .iter()
                .map(|invocation| InvocationRow::from_invocation(&project, invocation)),
        );
        spans.extend(converted.iter().map(|span| encoder.row(span)));
    }
    let mut insert = client.insert::<SpanRow>("bench_pool_spans").await?;
    for row in &spans {
        insert.write(row).await?;
    }
    insert.end().await?;
    let mut insert = client
        .insert::<InvocationRow>("bench_pool_invocations")
        .await?;
    for row in &invocations {
        insert.write(row).await?;
    }
    insert.end().await?;
    let pool: PoolRow = client
        .query("SELECT count() AS spans, toUInt32(min(timestamp)) AS first_second FROM bench_pool_spans")
        .fetch_one()
        .await?;
    Ok((pool.spans, u64::from(pool.first_second)))
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// Milliseconds of each run of `query`.
async fn measure<F, Fut>(runs: usize, mut query: F) -> anyhow::Result<Vec<f64>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        query(run).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn print_row(name: &str, times: &[f64], target_ms: f64) {
    let (p50, p99) = (percentile(times, 0.5), percentile(times, 0.99));
    println!(
        "| {name} | {} | {p50:.1} | {p99:.1} | {target_ms:.0} | {} |",
        times.len(),
        if p99 <= target_ms { "met" } else { "not met" }
    );
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Text {
    text: String,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TableBytes {
    table: String,
    bytes: u64,
    rows: u64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let managed;
    let settings = match &options.clickhouse_url {
        Some(url) => ClickHouseSettings {
            url: url.clone(),
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
    settings
        .server_client()
        .query("DROP DATABASE IF EXISTS tracehouse_bench")
        .execute()
        .await?;
    settings.ensure_database().await?;
    let client = settings.client()?;
    tracehouse_schema::apply_migrations(&client).await?;
    let now_seconds = tracehouse_model::time::now_unix_nano() / NANOS;
    let (pool, pool_first_second) =
        store_pool(&client, options.pool_spans, now_seconds * NANOS).await?;
    anyhow::ensure!(pool > 0, "the workload is empty");

    // Copies spread evenly over the week before now.
    let copies = options.spans.div_ceil(pool);
    let placement = Placement {
        pool_first_second,
        first_second: now_seconds - WEEK_SECONDS,
        step_seconds: (WEEK_SECONDS / copies).max(1),
    };
    let started = Instant::now();
    let per_insert = (300_000 / pool).max(1);
    let mut copy = 0;
    while copy < copies {
        let count = per_insert.min(copies - copy);
        let limit = (options.spans - copy * pool).min(count * pool);
        client
            .query(&copy_spans_sql(copy, count, placement, limit))
            .execute()
            .await
            .context("copying spans")?;
        client
            .query(&copy_invocations_sql(copy, count, placement))
            .execute()
            .await
            .context("copying invocations")?;
        copy += count;
    }
    println!(
        "stored {} spans ({copies} copies of a pool of {pool} spans of the simulator's application) in {:.0} s",
        options.spans,
        started.elapsed().as_secs_f64()
    );
    print_bytes(&client, options.spans).await?;

    let ingest = Ingest::start(
        client.clone(),
        (copies, pool, pool_first_second),
        options.ingest_spans_per_second,
    );
    let result = measure_queries(&client, &options, now_seconds).await;
    let ingested = ingest.stop().await;
    println!("ingest while measuring: {ingested} spans inserted at the current time");
    result
}

/// Bytes on disk per stored span, per table and all together.
async fn print_bytes(client: &clickhouse::Client, spans: u64) -> anyhow::Result<()> {
    let tables: Vec<TableBytes> = client
        .query(
            "SELECT table, toUInt64(sum(bytes_on_disk)) AS bytes, toUInt64(sum(rows)) AS rows FROM system.parts \
             WHERE active AND database = currentDatabase() AND table NOT LIKE 'bench_%' GROUP BY table ORDER BY bytes DESC",
        )
        .fetch_all()
        .await?;
    let total: u64 = tables.iter().map(|table| table.bytes).sum();
    for table in &tables {
        println!(
            "  {}: {} rows, {:.1} bytes per span",
            table.table,
            table.rows,
            table.bytes as f64 / spans.max(1) as f64
        );
    }
    println!(
        "bytes on disk per span, all tables: {:.1} (id-like attribute values unique per copy)",
        total as f64 / spans.max(1) as f64
    );
    Ok(())
}

async fn sample_texts(client: &clickhouse::Client, sql: &str) -> anyhow::Result<Vec<String>> {
    let rows: Vec<Text> = client.query(sql).fetch_all().await?;
    Ok(rows.into_iter().map(|row| row.text).collect())
}

async fn measure_queries(
    client: &clickhouse::Client,
    options: &Options,
    now_seconds: u64,
) -> anyhow::Result<()> {
    let service = QueryService::new(client.clone());
    let project = ProjectId::default();
    let traces: Vec<TraceId> = sample_texts(
        client,
        "SELECT lower(hex(trace_id)) AS text FROM trace_time_index WHERE cityHash64(trace_id) % 997 = 3 \
         GROUP BY trace_id ORDER BY cityHash64(trace_id) LIMIT 1000",
    )
    .await?
    .iter()
    .filter_map(|hex| hex.parse().ok())
    .collect();
    anyhow::ensure!(!traces.is_empty(), "no trace to look up");
    let day = TimeWindow {
        start_unix_nano: (now_seconds - 86_400) * NANOS,
        end_unix_nano: now_seconds * NANOS,
    };
    println!(
        "| query ({} spans, ingest running) | runs | p50 ms | p99 ms | target p99 ms | |",
        options.spans
    );
    println!("|---|---|---|---|---|---|");
    let by_id = measure(options.runs, |run| {
        let (service, project, trace) = (&service, &project, traces[run % traces.len()]);
        async move {
            service.trace(project, trace).await?;
            Ok(())
        }
    })
    .await?;
    print_row("trace by id", &by_id, 50.0);
    if options.trace_by_id_only {
        return Ok(());
    }
    let services = sample_texts(
        client,
        "SELECT DISTINCT service AS text FROM span_index ORDER BY text LIMIT 100",
    )
    .await?;
    let search = measure(options.runs, |run| {
        let (service, project) = (&service, &project);
        let search = TraceSearch {
            window: Some(day),
            service: services
                .get(run % services.len().max(1))
                .cloned()
                .unwrap_or_default(),
            limit: 20,
            ..TraceSearch::default()
        };
        async move {
            service.search_traces(project, &search, day).await?;
            Ok(())
        }
    })
    .await?;
    print_row("trace search, one service, 24 h, 20 traces", &search, 200.0);
    let functions = measure(options.runs.min(20), |_| {
        let (service, project) = (&service, &project);
        async move {
            service.functions(project, &day).await?;
            Ok(())
        }
    })
    .await?;
    print_row("functions list, 24 h", &functions, 200.0);
    measure_chains(&service, &project, client, options.runs).await
}

/// Chains of the workload with the most traces (up to the chain cap).
async fn measure_chains(
    service: &QueryService,
    project: &ProjectId,
    client: &clickhouse::Client,
    runs: usize,
) -> anyhow::Result<()> {
    let linked: Vec<TraceId> = sample_texts(
        client,
        "SELECT lower(hex(linking_trace_id)) AS text FROM span_links_by_linked_trace \
         WHERE cityHash64(linking_trace_id) % 101 = 5 GROUP BY linking_trace_id LIMIT 200",
    )
    .await?
    .iter()
    .filter_map(|hex| hex.parse().ok())
    .collect();
    if linked.is_empty() {
        println!("| chain | 0 | - | - | 200 | no linked traces in the workload |");
        return Ok(());
    }
    let longest = Arc::new(AtomicU64::new(0));
    let chains = measure(runs, |run| {
        let (trace, longest) = (linked[run % linked.len()], longest.clone());
        async move {
            let chain = service.chain(project, trace).await?;
            longest.fetch_max(chain.trace_ids.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    })
    .await?;
    print_row(
        &format!(
            "chain of the workload (up to {} traces)",
            longest.load(Ordering::Relaxed)
        ),
        &chains,
        200.0,
    );
    measure_ten_trace_chains(service, project, client, runs).await
}

/// Chains of exactly 10 traces (the workload's are shorter): 20 of them,
/// 5 spans per trace, the second span of each trace a consumer linked to
/// the previous trace's second span, stored among the generated spans an
/// hour ago. Each run walks one from its first trace.
async fn measure_ten_trace_chains(
    service: &QueryService,
    project: &ProjectId,
    client: &clickhouse::Client,
    runs: usize,
) -> anyhow::Result<()> {
    // Row n: chain intDiv(n, 50), trace k = intDiv(n, 5) % 10, span n % 5.
    let trace = |number: &str| {
        format!("toFixedString(concat(reinterpretAsString(cityHash64('chain', intDiv({number}, 5))), reinterpretAsString(cityHash64('chain', intDiv({number}, 5), 1))), 16)")
    };
    let span = |number: &str| {
        format!("toFixedString(reinterpretAsString(cityHash64('chain-span', {number})), 8)")
    };
    let sql = format!(
        "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns, trace_id, span_id, \
         parent_span_id, service, name, kind, status_code, link_trace_ids, link_span_ids, link_trace_states, link_attributes) \
         SELECT 'default', toDateTime(toUInt32(now()) - 3600 + intDiv(number, 5) % 10), \
         (toUInt64(now()) - 3600 + intDiv(number, 5) % 10) * {NANOS} + number % 5 * 1000000, \
         (toUInt64(now()) - 3600 + intDiv(number, 5) % 10) * {NANOS} + number % 5 * 1000000 + 500000, 500000, \
         {trace_id}, {span_id}, if(number % 5 = 0, toFixedString(unhex('0000000000000000'), 8), {parent}), \
         concat('chain-step-', toString(intDiv(number, 5) % 10)), concat('step-', toString(number % 5)), \
         if(number % 5 = 1, 'consumer', 'internal'), 'unset', \
         arrayFilter(x -> number % 5 = 1 AND intDiv(number, 5) % 10 > 0, [{previous_trace}]), \
         arrayFilter(x -> number % 5 = 1 AND intDiv(number, 5) % 10 > 0, [{previous_span}]), \
         arrayFilter(x -> number % 5 = 1 AND intDiv(number, 5) % 10 > 0, ['']), \
         arrayFilter(x -> number % 5 = 1 AND intDiv(number, 5) % 10 > 0, ['{{}}']) \
         FROM numbers(1000)",
        trace_id = trace("number"),
        span_id = span("number"),
        parent = span("(number - number % 5)"),
        previous_trace = trace("(number - 5)"),
        previous_span = span("(number - 5)"),
    );
    client
        .query(&sql)
        .execute()
        .await
        .context("storing 10-trace chains")?;
    let starts: Vec<TraceId> = sample_texts(
        client,
        &format!(
            "SELECT lower(hex({})) AS text FROM numbers(1000) WHERE number % 50 = 0",
            trace("number")
        ),
    )
    .await?
    .iter()
    .filter_map(|hex| hex.parse().ok())
    .collect();
    let shortest = Arc::new(AtomicU64::new(u64::MAX));
    let chains = measure(runs, |run| {
        let (trace, shortest) = (starts[run % starts.len().max(1)], shortest.clone());
        async move {
            let chain = service.chain(project, trace).await?;
            shortest.fetch_min(chain.trace_ids.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    })
    .await?;
    let traces = shortest.load(Ordering::Relaxed);
    anyhow::ensure!(traces == 10, "a 10-trace chain had {traces} traces");
    print_row("chain of 10 traces", &chains, 200.0);
    Ok(())
}

/// Copies of the pool inserted at the current time while queries run.
struct Ingest {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl Ingest {
    /// Inserts copies from `first_copy` of the pool (`pool` spans from
    /// `pool_first_second`) at the current time, `spans_per_second` a second.
    fn start(
        client: clickhouse::Client,
        (first_copy, pool, pool_first_second): (u64, u64, u64),
        spans_per_second: u64,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut copy, mut inserted) = (first_copy, 0);
            while spans_per_second > 0 && !flag.load(Ordering::Relaxed) {
                let second = Instant::now();
                let now = tracehouse_model::time::now_unix_nano() / NANOS;
                let limit = spans_per_second.min(pool);
                let placement = Placement {
                    pool_first_second,
                    first_second: now.saturating_sub(copy),
                    step_seconds: 1,
                };
                let sql = copy_spans_sql(copy, 1, placement, limit);
                if client.query(&sql).execute().await.is_ok() {
                    inserted += limit;
                }
                copy += 1;
                tokio::time::sleep(Duration::from_secs(1).saturating_sub(second.elapsed())).await;
            }
            inserted
        });
        Self { stop, task }
    }

    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}
