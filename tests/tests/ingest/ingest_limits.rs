//! Ingest limits on every signal and both transports: `max_request_bytes`
//! on `/v1/logs` and `/v1/metrics` (plain and as a gzip bomb) and on gRPC
//! for traces, logs and metrics (plain and gzip-compressed), counted; and
//! items more than a day in the future refused with a reason while the
//! rest of the request is stored; and the per-span limits (spans per
//! request, attributes per span, value length, value depth, events and
//! links per span), each cutting what exceeds it, saying so in the partial
//! success and counting it, while the rest of the span is stored.

use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::{json, Value};
use std::io::Write;
use tonic::codec::CompressionEncoding;
use tonic::Code;
use tracehouse_tests::otlp_json::post;
use tracehouse_tests::{now_unix_nanos, TestApp};

const LIMIT: usize = 64 * 1024;
const SECOND: u64 = 1_000_000_000;
const DAY: u64 = 86_400 * SECOND;

fn gzip_bomb() -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b' '; 10 * 1024 * 1024])?;
    Ok(encoder.finish()?)
}

fn text(value: String) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value)),
    })
}

/// Requests just over the limit: one item carrying 70 KiB of text.
fn big_span_request() -> ExportTraceServiceRequest {
    let now = now_unix_nanos();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![3; 16],
                    span_id: vec![4; 8],
                    name: "x".repeat(70 * 1024),
                    start_time_unix_nano: now,
                    end_time_unix_nano: now + 1000,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn big_log_request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now_unix_nanos(),
                    body: text("x".repeat(70 * 1024)),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn big_metric_request() -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "x".repeat(70 * 1024),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: now_unix_nanos(),
                            value: Some(number_data_point::Value::AsInt(1)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn requests(
    app: &TestApp,
    signal: &str,
    transport: &str,
    outcome: &str,
) -> anyhow::Result<f64> {
    app.metric(&format!(
        "tracehouse_otlp_requests_total{{signal=\"{signal}\",transport=\"{transport}\",outcome=\"{outcome}\"}}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn size_limits_hold_for_every_signal_and_transport() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.max_request_bytes = LIMIT).await?;
    for (path, signal) in [("/v1/logs", "logs"), ("/v1/metrics", "metrics")] {
        let url = format!("{}{path}", app.otlp_http_url());
        let plain = app
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(vec![b' '; LIMIT + 1024])
            .send()
            .await?;
        assert_eq!(plain.status(), 413, "{path}");
        let bomb = app
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip_bomb()?)
            .send()
            .await?;
        assert_eq!(bomb.status(), 413, "{path} gzip");
        let error: Value = bomb.json().await?;
        let message = error["message"].as_str().unwrap_or("");
        assert!(message.contains(&LIMIT.to_string()), "{path}: {error}");
        assert_eq!(
            requests(&app, signal, "http", "too_large").await?,
            2.0,
            "{path}"
        );
    }

    let url = app.otlp_grpc_url();
    for compression in [None, Some(CompressionEncoding::Gzip)] {
        let mut traces = TraceServiceClient::connect(url.clone()).await?;
        let mut logs = LogsServiceClient::connect(url.clone()).await?;
        let mut metrics = MetricsServiceClient::connect(url.clone()).await?;
        if let Some(encoding) = compression {
            // Compressed, the requests are far below the limit; decompressed
            // they are over it.
            traces = traces.send_compressed(encoding);
            logs = logs.send_compressed(encoding);
            metrics = metrics.send_compressed(encoding);
        }
        let codes = [
            traces.export(big_span_request()).await.map(|_| ()),
            logs.export(big_log_request()).await.map(|_| ()),
            metrics.export(big_metric_request()).await.map(|_| ()),
        ];
        for (signal, code) in ["traces", "logs", "metrics"].iter().zip(codes) {
            let status = code.expect_err("over the limit");
            assert_eq!(
                status.code(),
                Code::OutOfRange,
                "{signal} {compression:?}: {status}"
            );
        }
    }
    for signal in ["traces", "logs", "metrics"] {
        assert_eq!(
            requests(&app, signal, "grpc", "too_large").await?,
            2.0,
            "{signal}"
        );
        assert_eq!(
            app.metric(&format!(
                "tracehouse_received_items_total{{signal=\"{signal}\"}}"
            ))
            .await?,
            0.0,
            "{signal}: nothing read from refused requests"
        );
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn items_more_than_a_day_ahead_are_refused_and_the_rest_is_stored() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let now = now_unix_nanos();
    let (soon, too_late) = (now + 3600 * SECOND, now + DAY + 3600 * SECOND);
    let span = |id: u64, start: u64| {
        json!({"traceId": "6b8efff798038103d269b633813fc60c", "spanId": format!("{id:016x}"),
               "name": "work", "startTimeUnixNano": start.to_string(),
               "endTimeUnixNano": (start + 1000).to_string()})
    };
    let answer = post(
        &app,
        "/v1/traces",
        &json!({"resourceSpans": [{"scopeSpans": [{"spans": [span(1, soon), span(2, too_late)]}]}]}),
    )
    .await?;
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], 1, "{answer}");
    let log =
        |time: u64| json!({"timeUnixNano": time.to_string(), "body": {"stringValue": "line"}});
    let answer = post(
        &app,
        "/v1/logs",
        &json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [log(soon), log(too_late)]}]}]}),
    )
    .await?;
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"], 1,
        "{answer}"
    );
    let point = |time: u64| json!({"timeUnixNano": time.to_string(), "asInt": "1"});
    let answer = post(
        &app,
        "/v1/metrics",
        &json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "queue.depth", "gauge": {"dataPoints": [point(soon), point(too_late)]}}]}]}]}),
    )
    .await?;
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], 1,
        "{answer}"
    );
    for signal in ["traces", "logs", "metrics"] {
        let sample = format!(
            "tracehouse_rejected_items_total{{signal=\"{signal}\",reason=\"timestamp_out_of_range\"}}"
        );
        assert_eq!(app.metric(&sample).await?, 1.0, "{signal}");
    }
    // The span an hour ahead is stored; the one a day and an hour ahead not.
    let trace = app
        .wait_for_trace("6b8efff798038103d269b633813fc60c", 1)
        .await?;
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 1, "{trace}");
    assert_eq!(spans[0]["span_id"], format!("{:016x}", 1));
    app.stop().await
}

fn attribute(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value,
        ..Default::default()
    }
}

fn nested(depth: usize) -> Option<AnyValue> {
    let mut value = text("leaf".to_owned());
    for _ in 0..depth {
        value = Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: value.into_iter().collect(),
            })),
        });
    }
    value
}

/// Four spans; the first carries three attributes (one long, one nested
/// three deep), two events and two links.
fn over_the_span_limits(now: u64) -> ExportTraceServiceRequest {
    let span = |number: u8| Span {
        trace_id: vec![9; 16],
        span_id: vec![number; 8],
        name: format!("work-{number}"),
        start_time_unix_nano: now,
        end_time_unix_nano: now + 1000,
        ..Default::default()
    };
    let mut first = span(1);
    first.attributes = vec![
        attribute("long", text("é".repeat(10))),
        attribute("deep", nested(3)),
        attribute("third", text("x".to_owned())),
    ];
    first.events = (0..2)
        .map(|index| Event {
            time_unix_nano: now + index,
            name: format!("event-{index}"),
            ..Default::default()
        })
        .collect();
    first.links = (0..2u8)
        .map(|index| Link {
            trace_id: vec![index + 1; 16],
            span_id: vec![index + 1; 8],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![first, span(2), span(3), span(4)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct LimitedSpan {
    attribute_keys: Vec<String>,
    attribute_values: Vec<String>,
    event_names: Vec<String>,
    link_count: u64,
    dropped_attributes_count: u32,
    dropped_events_count: u32,
    dropped_links_count: u32,
}

#[tokio::test(flavor = "multi_thread")]
async fn span_limits_cut_what_exceeds_them_say_so_and_count_it() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        config.max_spans_per_request = 3;
        config.max_attributes_per_span = 2;
        config.max_attribute_value_bytes = 9;
        config.max_value_depth = 2;
        config.max_events_per_span = 1;
        config.max_links_per_span = 1;
    })
    .await?;
    let mut client = TraceServiceClient::connect(app.otlp_grpc_url()).await?;
    let response = client
        .export(over_the_span_limits(now_unix_nanos()))
        .await?
        .into_inner();
    let partial = response.partial_success.expect("a partial success");
    assert_eq!(partial.rejected_spans, 1, "{}", partial.error_message);
    for limit in [
        "1 spans_per_request",
        "1 over attributes_per_span",
        "1 over attribute_value_length",
        "1 over value_depth",
        "1 over events_per_span",
        "1 over links_per_span",
    ] {
        assert!(
            partial.error_message.contains(limit),
            "{limit}: {}",
            partial.error_message
        );
    }
    app.wait_for_rows("SELECT count() AS count FROM spans", 3)
        .await?;
    assert_eq!(
        app.count_rows("SELECT count() AS count FROM spans").await?,
        3
    );
    let stored: LimitedSpan = app
        .clickhouse_client()
        .query(
            "SELECT attribute_keys, attribute_values, event_names, toUInt64(length(link_span_ids)) AS link_count, \
             dropped_attributes_count, dropped_events_count, dropped_links_count FROM spans WHERE name = 'work-1'",
        )
        .fetch_one()
        .await?;
    assert_eq!(stored.attribute_keys, ["long", "deep"]);
    // Ten two-byte characters cut to nine bytes end at a character boundary.
    assert_eq!(stored.attribute_values[0], "éééé");
    assert_eq!(stored.attribute_values[1], "[[null]]");
    assert_eq!(stored.event_names, ["event-0"]);
    assert_eq!(stored.link_count, 1);
    assert_eq!(
        (
            stored.dropped_attributes_count,
            stored.dropped_events_count,
            stored.dropped_links_count
        ),
        (1, 1, 1)
    );
    assert_eq!(
        app.metric(
            "tracehouse_rejected_items_total{signal=\"traces\",reason=\"spans_per_request\"}"
        )
        .await?,
        1.0
    );
    for limit in [
        "attributes_per_span",
        "attribute_value_length",
        "value_depth",
        "events_per_span",
        "links_per_span",
    ] {
        let sample =
            format!("tracehouse_truncated_items_total{{signal=\"traces\",limit=\"{limit}\"}}");
        assert_eq!(app.metric(&sample).await?, 1.0, "{sample}");
    }
    app.stop().await
}

/// Starts a request whose body never finishes arriving; returns the connection.
async fn stalled_request(app: &TestApp) -> anyhow::Result<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let address = app.otlp_http_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(
            b"POST /v1/traces HTTP/1.1\r\nhost: tracehouse\r\ncontent-type: application/x-protobuf\r\n\
              content-length: 1000\r\n\r\n0123456789",
        )
        .await?;
    Ok(stream)
}

async fn post_empty_traces(app: &TestApp) -> anyhow::Result<u16> {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await?;
    Ok(response.status().as_u16())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_body_holds_a_receiver_only_until_the_read_timeout() -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    let app = TestApp::start_with(|config| {
        config.max_concurrent_requests = 1;
        config.body_read_timeout = std::time::Duration::from_secs(2).into();
    })
    .await?;
    let mut stalled = stalled_request(&app).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The one permit is held by the stalled request: retry later.
    assert_eq!(post_empty_traces(&app).await?, 503);
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stalled.read(&mut answer),
    )
    .await??;
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The permit is back.
    assert_eq!(post_empty_traces(&app).await?, 200);
    assert_eq!(requests(&app, "traces", "http", "saturated").await?, 1.0);
    assert_eq!(requests(&app, "traces", "http", "timeout").await?, 1.0);
    app.stop().await
}
