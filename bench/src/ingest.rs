//! `tracehouse-bench ingest`: spans per second through Tracehouse (OTLP/HTTP
//! protobuf, batching writer) against ClickHouse's own insert speed for the
//! same rows (RowBinary through the clickhouse crate, same tables and
//! materialized view). Both run on one machine against one managed server.

use futures::stream::{self, StreamExt};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use std::time::{Duration, Instant};
use tracehouse::Config;
use tracehouse_model::ProjectId;
use tracehouse_schema::rows::SpanRow;
use tracehouse_schema::{ManagedClickHouse, ManagedOptions};

fn string_value(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn int_value(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// One request of `spans_per_request` spans shaped like a function's
/// telemetry: 10-span traces, HTTP and FaaS attributes, a resource of five.
pub(crate) fn request(
    request_number: u64,
    spans_per_request: u64,
    now_nanos: u64,
) -> ExportTraceServiceRequest {
    let spans = (0..spans_per_request)
        .map(|index| {
            let number = request_number * spans_per_request + index;
            let trace = number / 10;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(trace + 1).to_be_bytes());
            trace_id[8..].copy_from_slice(&(trace ^ 0x5bd1_e995).to_be_bytes());
            let start = now_nanos - 60_000_000_000 + number * 1_000;
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (number + 1).to_be_bytes().to_vec(),
                parent_span_id: if number.is_multiple_of(10) {
                    vec![]
                } else {
                    (number - number % 10 + 1).to_be_bytes().to_vec()
                },
                name: format!("operation-{}", number % 20),
                kind: if number.is_multiple_of(10) { 2 } else { 3 },
                start_time_unix_nano: start,
                end_time_unix_nano: start + 2_500_000 + (number % 97) * 10_000,
                attributes: vec![
                    string_value("http.request.method", "POST".to_owned()),
                    string_value("http.route", format!("/api/v1/items/{}", number % 50)),
                    int_value(
                        "http.response.status_code",
                        if number.is_multiple_of(50) { 500 } else { 200 },
                    ),
                    string_value("faas.invocation_id", format!("{:032x}", trace)),
                    string_value("faas.trigger", "http".to_owned()),
                    string_value("db.system", "dynamodb".to_owned()),
                    int_value("messaging.batch.message_count", (number % 7) as i64),
                    string_value(
                        "user_agent.original",
                        "Mozilla/5.0 (X11; Linux x86_64)".to_owned(),
                    ),
                ],
                status: (number.is_multiple_of(50)).then(|| Status {
                    code: 2,
                    message: "upstream timed out".to_owned(),
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_value("service.name", format!("function-{}", request_number % 8)),
                    string_value("cloud.provider", "aws".to_owned()),
                    string_value("cloud.region", "eu-west-1".to_owned()),
                    string_value("faas.name", format!("function-{}", request_number % 8)),
                    int_value("faas.max_memory", 536_870_912),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench".to_owned(),
                    version: "1.0".to_owned(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub(crate) fn now_nanos() -> u64 {
    tracehouse_model::time::now_unix_nano()
}

/// Runs both measurements and prints spans per second and their ratio.
pub async fn run(spans: u64, spans_per_request: u64, concurrency: usize) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let server = ManagedClickHouse::start(ManagedOptions::in_directory(
        directory.path().join("clickhouse"),
    ))
    .await?;
    let requests = spans.div_ceil(spans_per_request);
    let spans = requests * spans_per_request;
    let now = now_nanos();
    let payloads: Vec<ExportTraceServiceRequest> = (0..requests)
        .map(|number| request(number, spans_per_request, now))
        .collect();

    // ClickHouse alone: the rows Tracehouse would write, inserted directly.
    let raw = server.settings("bench_raw");
    raw.ensure_database().await?;
    let client = raw.client()?;
    tracehouse_schema::apply_migrations(&client).await?;
    let project = ProjectId::default();
    let rows: Vec<SpanRow> = payloads
        .iter()
        .flat_map(|payload| {
            let converted = tracehouse_collector::otlp::convert::convert_resource_spans(
                payload.resource_spans.clone(),
                tracehouse_collector::otlp::convert::TimeWindow::around_now(
                    Duration::from_secs(86_400),
                    Duration::from_secs(86_400),
                ),
            );
            converted
                .spans
                .iter()
                .map(|span| SpanRow::from_span(&project, span))
                .collect::<Vec<_>>()
        })
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(20_000) {
        let mut insert = client.insert::<SpanRow>("spans").await?;
        for row in chunk {
            insert.write(row).await?;
        }
        insert.end().await?;
    }
    let raw_seconds = started.elapsed().as_secs_f64();
    let raw_rate = spans as f64 / raw_seconds;
    println!(
        "clickhouse direct insert: {spans} spans in {raw_seconds:.2} s = {raw_rate:.0} spans/s"
    );

    // Through Tracehouse: OTLP/HTTP protobuf, batching writer, same tables.
    let data_dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: data_dir.path().to_owned(),
        clickhouse_url: Some(server.url()),
        clickhouse_user: server.settings("").user,
        clickhouse_password: server.settings("").password,
        clickhouse_database: "bench_otlp".to_owned(),
        otlp_grpc_addr: "127.0.0.1:0".parse()?,
        otlp_http_addr: "127.0.0.1:0".parse()?,
        http_addr: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    let running = tracehouse::serve(config).await?;
    let otlp_url = format!(
        "http://{}/v1/traces",
        running
            .addresses
            .otlp_http
            .unwrap_or(running.addresses.http)
    );
    let metrics_url = format!("http://{}/metrics", running.addresses.http);
    let bodies: Vec<Vec<u8>> = payloads.iter().map(Message::encode_to_vec).collect();
    let request_bytes: usize = bodies.iter().map(Vec::len).sum();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let refused = stream::iter(bodies)
        .map(|body| {
            let http = http.clone();
            let url = otlp_url.clone();
            async move {
                let mut refused = 0u64;
                loop {
                    let response = http
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await?;
                    if response.status().is_success() {
                        return Ok::<u64, anyhow::Error>(refused);
                    }
                    // 503 is backpressure: back off as an OTLP client would.
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum::<anyhow::Result<u64>>()?;
    let accepted_seconds = started.elapsed().as_secs_f64();
    loop {
        let text = http.get(&metrics_url).send().await?.text().await?;
        let written = text
            .lines()
            .find_map(|line| {
                line.strip_prefix("tracehouse_writer_rows_written_total{table=\"spans\"} ")
            })
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if written as u64 >= spans {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let otlp_seconds = started.elapsed().as_secs_f64();
    running.shutdown().await?;
    let otlp_rate = spans as f64 / otlp_seconds;
    println!(
        "tracehouse otlp/http: {spans} spans ({:.1} MB of protobuf in {requests} requests, {concurrency} at a time) \
         accepted in {accepted_seconds:.2} s, written in {otlp_seconds:.2} s = {otlp_rate:.0} spans/s, \
         {refused} requests refused with 503 and retried",
        request_bytes as f64 / 1e6
    );
    println!("ratio tracehouse/clickhouse: {:.2}", otlp_rate / raw_rate);
    Ok(())
}
