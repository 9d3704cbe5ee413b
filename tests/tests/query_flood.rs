//! A flood of dashboard queries does not slow ingest below half its normal
//! rate: in managed mode, where the query side reads as its own read-only
//! ClickHouse user with its own limits, the query guard serves a few
//! requests at a time, and the writers keep their own connections.
//!
//! The rate is measured from the first request sent to the last span
//! stored in ClickHouse, once alone and once under the flood.
//!
//! What keeps it: the query guard serves `query_max_concurrency` (2)
//! requests at once and makes the rest wait briefly instead of refusing them
//! (clients that retry a 503 at once burn the CPU ingest needs); the query
//! side runs on threads of its own; the managed reader's ClickHouse queries
//! use one thread each at a lower priority than the writer's inserts.
//!
//! A benchmark as much as a test: it prints both rates and their ratio. On
//! the shared 2-core machine the ratio was 0.52 to 0.99 over ten runs, and
//! 0.30 once while a release build ran next to it (README "Dashboards under
//! ingest"); the assertion is a generous bound (0.25) so that the check
//! stays stable on a loaded machine, and still catches a return to the old
//! 0.07 to 0.15.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracehouse::{Config, Running};

const REQUESTS: u64 = 160;
const SPANS_PER_REQUEST: u64 = 500;
const FLOODERS: usize = 24;
/// The least ratio of the two rates the check accepts (the goal is 0.5).
const LEAST_RATIO: f64 = 0.25;

fn request(round: u64, batch: u64) -> ExportTraceServiceRequest {
    let now = tracehouse_tests::now_unix_nanos();
    let spans = (0..SPANS_PER_REQUEST)
        .map(|index| {
            let id = (round << 40) | (batch << 20) | index;
            Span {
                trace_id: (u128::from(id) + 1).to_be_bytes().to_vec(),
                span_id: (id + 1).to_be_bytes().to_vec(),
                name: format!("op-{}", index % 13),
                kind: 2,
                start_time_unix_nano: now - 2_000_000_000,
                end_time_unix_nano: now - 1_000_000_000,
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".to_owned(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(format!("svc-{}", batch % 5))),
                    }),
                    ..KeyValue::default()
                }],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

async fn stored_spans(running: &Running) -> anyhow::Result<u64> {
    Ok(running
        .clickhouse
        .client()?
        .query("SELECT count() FROM spans")
        .fetch_one::<u64>()
        .await?)
}

/// Spans per second for one round: sent (retrying 503s) until all are stored.
async fn ingest_rate(running: &Running, round: u64, already: u64) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let url = format!(
        "http://{}/v1/traces",
        running.addresses.otlp_http.expect("collector role")
    );
    let started = Instant::now();
    for batch in 0..REQUESTS {
        let body = request(round, batch).encode_to_vec();
        loop {
            let response = http
                .post(&url)
                .header("content-type", "application/x-protobuf")
                .body(body.clone())
                .send()
                .await?;
            if response.status() == 200 {
                break;
            }
            anyhow::ensure!(response.status() == 503, "{}", response.status());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let expected = already + REQUESTS * SPANS_PER_REQUEST;
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored_spans(running).await? < expected {
        anyhow::ensure!(Instant::now() < deadline, "spans not stored in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((REQUESTS * SPANS_PER_REQUEST) as f64 / started.elapsed().as_secs_f64())
}

/// Answers the flood got: served, and refused (503) by the query guards.
#[derive(Default)]
struct Answers {
    served: AtomicU64,
    refused: AtomicU64,
}

/// Dashboard and API reads in a loop until `stop`, without backing off
/// (a 503 is asked again at once); counts the answers.
fn flood(
    base: String,
    stop: Arc<AtomicBool>,
    answers: Arc<Answers>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let paths = [
            "/api/v1/services?from=now-7d",
            "/api/v1/traces?from=now-7d&limit=100",
            "/api/v1/map?from=now-7d",
            "/api/v1/functions?from=now-7d",
            "/",
            "/traces?from=now-7d",
        ];
        let mut turn = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let path = paths[turn % paths.len()];
            turn += 1;
            match http.get(format!("{base}{path}")).send().await {
                Ok(response) if response.status() == 200 => &answers.served,
                Ok(response) if response.status() == 503 => &answers.refused,
                _ => continue,
            }
            .fetch_add(1, Ordering::Relaxed);
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_flood_keeps_ingest_above_half_its_rate() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let running = tracehouse::serve(Config {
        data_dir: data_dir.path().to_owned(),
        clickhouse_url: None,
        otlp_grpc_addr: "127.0.0.1:0".parse()?,
        otlp_http_addr: "127.0.0.1:0".parse()?,
        http_addr: "127.0.0.1:0".parse()?,
        batch_max_age: Duration::from_millis(100).into(),
        ..Config::default()
    })
    .await?;
    // Warm up, then the normal rate.
    ingest_rate(&running, 0, 0).await?;
    let alone = ingest_rate(&running, 1, REQUESTS * SPANS_PER_REQUEST).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Answers::default());
    let base = format!("http://{}", running.addresses.http);
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|_| flood(base.clone(), stop.clone(), answers.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flooded = ingest_rate(&running, 2, 2 * REQUESTS * SPANS_PER_REQUEST).await;
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await?;
    }
    let flooded = flooded?;
    let served = answers.served.load(Ordering::Relaxed);
    let refused = answers.refused.load(Ordering::Relaxed);
    println!(
        "ingest alone: {alone:.0} spans/s; under {FLOODERS} query loops: {flooded:.0} spans/s \
         (ratio {:.2}; {served} queries served, {refused} refused with 503)",
        flooded / alone
    );
    assert!(
        served >= FLOODERS as u64,
        "the flood was served: {served} queries"
    );
    assert!(
        flooded >= alone * LEAST_RATIO,
        "ingest fell from {alone:.0} to {flooded:.0} spans/s under the flood"
    );
    running.shutdown().await
}
