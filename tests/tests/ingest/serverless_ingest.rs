//! OTLP metrics and logs receivers (every point type, both transports,
//! gzip, partial success, counters), and cold starts derived across two
//! collector processes and a restart.

use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1 as logs_proto;
use opentelemetry_proto::tonic::metrics::v1 as metrics_proto;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as trace_proto;
use prost::Message;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use tracehouse_tests::{now_unix_nanos, TestApp};

const SECOND: u64 = 1_000_000_000;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

async fn wait_for_count(app: &TestApp, sql: &str, expected: u64) -> anyhow::Result<()> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Count {
        count: u64,
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<Count> = app.clickhouse_client().query(sql).fetch_all().await?;
        let count = rows.first().map_or(0, |row| row.count);
        if count >= expected {
            anyhow::ensure!(
                count == expected,
                "{sql}: {count} rows, expected {expected}"
            );
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {count} of {expected} rows after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct PointRow {
    metric_name: String,
    metric_type: i8,
    temporality: u8,
    value: f64,
    count: u64,
    sum: f64,
    bucket_counts: Vec<u64>,
    exp_scale: i32,
    exp_positive_bucket_counts: Vec<u64>,
    quantile_values: Vec<f64>,
    service: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_of_every_type_over_http_and_json() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let now = now_unix_nanos();
    let number = |value: f64| metrics_proto::NumberDataPoint {
        time_unix_nano: now,
        value: Some(metrics_proto::number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let metric = |name: &str, data: metrics_proto::metric::Data| metrics_proto::Metric {
        name: name.to_owned(),
        data: Some(data),
        ..Default::default()
    };
    use metrics_proto::metric::Data;
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![metrics_proto::ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![string("service.name", "billing")],
                ..Default::default()
            }),
            scope_metrics: vec![metrics_proto::ScopeMetrics {
                metrics: vec![
                    metric(
                        "g",
                        Data::Gauge(metrics_proto::Gauge {
                            data_points: vec![number(1.5)],
                        }),
                    ),
                    metric(
                        "s",
                        Data::Sum(metrics_proto::Sum {
                            data_points: vec![number(7.0)],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "h",
                        Data::Histogram(metrics_proto::Histogram {
                            data_points: vec![metrics_proto::HistogramDataPoint {
                                time_unix_nano: now,
                                count: 3,
                                sum: Some(12.0),
                                bucket_counts: vec![1, 2],
                                explicit_bounds: vec![5.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "e",
                        Data::ExponentialHistogram(metrics_proto::ExponentialHistogram {
                            data_points: vec![metrics_proto::ExponentialHistogramDataPoint {
                                time_unix_nano: now,
                                count: 4,
                                scale: 2,
                                positive: Some(
                                    metrics_proto::exponential_histogram_data_point::Buckets {
                                        offset: 1,
                                        bucket_counts: vec![3, 1],
                                    },
                                ),
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "q",
                        Data::Summary(metrics_proto::Summary {
                            data_points: vec![metrics_proto::SummaryDataPoint {
                                time_unix_nano: now,
                                count: 2,
                                sum: 3.0,
                                quantile_values: vec![
                                    metrics_proto::summary_data_point::ValueAtQuantile {
                                        quantile: 0.5,
                                        value: 1.0,
                                    },
                                ],
                                ..Default::default()
                            }],
                        }),
                    ),
                    // Refused: no data, and a point from 1970.
                    metrics_proto::Metric {
                        name: "empty".to_owned(),
                        ..Default::default()
                    },
                    metric(
                        "old",
                        Data::Gauge(metrics_proto::Gauge {
                            data_points: vec![metrics_proto::NumberDataPoint {
                                time_unix_nano: 1_000,
                                ..Default::default()
                            }],
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let response = app
        .http
        .post(format!("{}/v1/metrics", app.otlp_http_url()))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&request.encode_to_vec())?)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let answer =
        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse::decode(
            response.bytes().await?,
        )?;
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 2);
    assert!(
        partial.error_message.contains("1 metric_without_data"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("1 timestamp_out_of_range"),
        "{}",
        partial.error_message
    );

    // JSON, as the OTLP/HTTP JSON encoding writes it.
    let body = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
        "scopeMetrics": [{"metrics": [{"name": "j", "unit": "1", "gauge": {"dataPoints": [
            {"timeUnixNano": now.to_string(), "asInt": "42"}
        ]}}]}]
    }]});
    let response = app
        .http
        .post(format!("{}/v1/metrics", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await?;
    assert!(
        answer.get("partialSuccess").is_none_or(Value::is_null),
        "{answer}"
    );

    wait_for_count(&app, "SELECT count() AS count FROM metric_points", 6).await?;
    let rows: Vec<PointRow> = app
        .clickhouse_client()
        .query(
            "SELECT metric_name, toInt8(metric_type) AS metric_type, temporality, value, count, sum, \
             bucket_counts, exp_scale, exp_positive_bucket_counts, quantile_values, service \
             FROM metric_points ORDER BY metric_name",
        )
        .fetch_all()
        .await?;
    let names: Vec<&str> = rows.iter().map(|row| row.metric_name.as_str()).collect();
    assert_eq!(names, vec!["e", "g", "h", "j", "q", "s"]);
    assert_eq!(
        (rows[0].metric_type, rows[0].exp_scale, rows[0].count),
        (4, 2, 4)
    );
    assert_eq!(rows[0].exp_positive_bucket_counts, vec![3, 1]);
    assert_eq!((rows[1].metric_type, rows[1].value), (1, 1.5));
    assert_eq!(
        (rows[2].metric_type, rows[2].temporality, rows[2].sum),
        (3, 1, 12.0)
    );
    assert_eq!(rows[2].bucket_counts, vec![1, 2]);
    assert_eq!(rows[3].value, 42.0);
    assert_eq!(
        (rows[4].metric_type, rows[4].quantile_values.clone()),
        (5, vec![1.0])
    );
    assert_eq!(
        (rows[5].metric_type, rows[5].temporality, rows[5].value),
        (2, 2, 7.0)
    );
    assert!(rows.iter().all(|row| row.service == "billing"));

    assert_eq!(
        app.metric("tracehouse_received_items_total{signal=\"metrics\"}")
            .await?,
        8.0
    );
    assert_eq!(
        app.metric("tracehouse_accepted_items_total{signal=\"metrics\"}")
            .await?,
        6.0
    );
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"metrics\",transport=\"http\",outcome=\"partial\"}")
            .await?,
        1.0
    );
    assert_eq!(
        app.wait_for_metric(
            "tracehouse_writer_rows_written_total{table=\"metric_points\"}",
            6.0
        )
        .await?,
        6.0,
        "rows written, once the writer has counted them"
    );
    app.stop().await
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct LogRowView {
    body: String,
    severity_text: String,
    service: String,
    trace_id: String,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct ReportView {
    request_id: String,
    function: String,
    duration_ms: f64,
    billed_duration_ms: u64,
    memory_size_mb: u32,
    max_memory_used_mb: u32,
    init_duration_ms: f64,
    has_init_duration: u8,
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_over_grpc_with_report_lines() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let now = now_unix_nanos();
    let record = |time: u64, body: &str| logs_proto::LogRecord {
        time_unix_nano: time,
        severity_text: "INFO".to_owned(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body.to_owned())),
        }),
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        ..Default::default()
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![logs_proto::ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", "payments"),
                    string("faas.name", "charge"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![logs_proto::ScopeLogs {
                log_records: vec![
                    record(now, "START RequestId: r-9 Version: $LATEST"),
                    record(
                        now + 1,
                        "REPORT RequestId: r-9\tDuration: 31.07 ms\tBilled Duration: 32 ms\tMemory Size: 1024 MB\tMax Memory Used: 88 MB\tInit Duration: 412.77 ms\t",
                    ),
                    record(1_000, "from 1970"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut client = LogsServiceClient::connect(app.otlp_grpc_url())
        .await?
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let answer = client.export(request).await?.into_inner();
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_log_records, 1);

    wait_for_count(&app, "SELECT count() AS count FROM logs", 2).await?;
    wait_for_count(&app, "SELECT count() AS count FROM platform_reports", 1).await?;
    let logs: Vec<LogRowView> = app
        .clickhouse_client()
        .query("SELECT body, severity_text, service, lower(hex(trace_id)) AS trace_id FROM logs ORDER BY time_unix_nano")
        .fetch_all()
        .await?;
    assert!(logs[0].body.starts_with("START"));
    assert_eq!(logs[0].severity_text, "INFO");
    assert_eq!(logs[0].service, "payments");
    assert_eq!(logs[0].trace_id, "ab".repeat(16));
    let reports: Vec<ReportView> = app
        .clickhouse_client()
        .query(
            "SELECT request_id, function, duration_ms, billed_duration_ms, memory_size_mb, \
             max_memory_used_mb, init_duration_ms, has_init_duration FROM platform_reports",
        )
        .fetch_all()
        .await?;
    let report = &reports[0];
    assert_eq!(report.request_id, "r-9");
    assert_eq!(report.function, "charge");
    assert_eq!(report.duration_ms, 31.07);
    assert_eq!(report.billed_duration_ms, 32);
    assert_eq!(
        (report.memory_size_mb, report.max_memory_used_mb),
        (1024, 88)
    );
    assert_eq!(
        (report.init_duration_ms, report.has_init_duration),
        (412.77, 1)
    );
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"logs\",transport=\"grpc\",outcome=\"partial\"}")
            .await?,
        1.0
    );
    app.stop().await
}

fn invocation_request(
    instance: &str,
    span_id: u8,
    start: u64,
    duration_ns: u64,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![trace_proto::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", "worker"),
                    string("cloud.platform", "aws_lambda"),
                    string("host.arch", "x86_64"),
                    string("faas.instance", instance),
                    KeyValue {
                        key: "faas.max_memory".to_owned(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::IntValue(2048)),
                        }),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            scope_spans: vec![trace_proto::ScopeSpans {
                spans: vec![trace_proto::Span {
                    trace_id: vec![span_id; 16],
                    span_id: vec![span_id; 8],
                    name: "handler".to_owned(),
                    kind: trace_proto::span::SpanKind::Server as i32,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + duration_ns,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A second collector process on the same database, as a deployment with
/// several collectors runs it.
async fn second_collector(
    app: &TestApp,
) -> anyhow::Result<(tracehouse::Running, tempfile::TempDir)> {
    let data_dir = tempfile::tempdir()?;
    let config = tracehouse::Config {
        data_dir: data_dir.path().to_owned(),
        clickhouse_url: Some(app.clickhouse.url.clone()),
        clickhouse_user: app.clickhouse.user.clone(),
        clickhouse_password: app.clickhouse.password.clone().into(),
        clickhouse_database: app.clickhouse.database.clone(),
        otlp_grpc_addr: "127.0.0.1:0".parse()?,
        otlp_http_addr: "127.0.0.1:0".parse()?,
        http_addr: "127.0.0.1:0".parse()?,
        batch_max_age: Duration::from_millis(100).into(),
        roles: vec![tracehouse::Role::Collector],
        ..tracehouse::Config::default()
    };
    Ok((tracehouse::serve(config).await?, data_dir))
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_starts_hold_across_collectors_and_restarts() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.pricing.free_tier = Some(true)).await?;
    let base = now_unix_nanos() - 10 * 60 * SECOND;
    let post = |url: String, request: ExportTraceServiceRequest| {
        let http = app.http.clone();
        async move {
            let response = http
                .post(format!("{url}/v1/traces"))
                .header("content-type", "application/x-protobuf")
                .body(request.encode_to_vec())
                .send()
                .await?;
            anyhow::ensure!(response.status() == 200, "{}", response.status());
            anyhow::Ok(())
        }
    };
    // The later invocation reaches the first collector...
    post(
        app.otlp_http_url(),
        invocation_request("w-1", 2, base + 60 * SECOND, 20_000_000),
    )
    .await?;
    wait_for_count(&app, "SELECT count() AS count FROM invocations", 1).await?;
    // ...the earlier one a second collector, which then stops.
    let (second, _second_dir) = second_collector(&app).await?;
    let second_url = format!(
        "http://{}",
        second.addresses.otlp_http.expect("collector role")
    );
    post(second_url, invocation_request("w-1", 1, base, 900_000_000)).await?;
    second.shutdown().await?;
    wait_for_count(&app, "SELECT count() AS count FROM invocations", 2).await?;
    // A third invocation after both are written.
    post(
        app.otlp_http_url(),
        invocation_request("w-1", 3, base + 120 * SECOND, 30_000_000),
    )
    .await?;
    wait_for_count(&app, "SELECT count() AS count FROM invocations", 3).await?;
    // A client retry stores the span again; it is still one invocation.
    post(
        app.otlp_http_url(),
        invocation_request("w-1", 3, base + 120 * SECOND, 30_000_000),
    )
    .await?;
    wait_for_count(&app, "SELECT count() AS count FROM invocations", 4).await?;

    let body = app
        .wait_for_json("/api/v1/functions", |body| {
            body["functions"][0]["cold_starts"].as_u64().unwrap_or(0) >= 1
        })
        .await?;
    let worker = &body["functions"][0];
    assert_eq!(worker["function"], "worker");
    assert_eq!(worker["invocations"], 3);
    assert_eq!(worker["cold_starts"], 1);
    assert_eq!(worker["cold_p50_ms"], 900.0);
    let (_, cold) = app.get_json("/api/v1/coldstarts?function=worker").await?;
    assert_eq!(cold["cold_starts"][0]["span_id"], "0101010101010101");

    // Totals, with the free tier on: this project is far below it.
    let rate = 0.0000166667;
    let cost: f64 = [900u64, 20, 30]
        .iter()
        .map(|ms| 0.20e-6 + *ms as f64 / 1000.0 * 2.0 * rate)
        .sum();
    let totals = &body["totals"];
    assert_eq!(totals["invocations"], 3);
    let total_cost = totals["cost_usd"].as_f64().unwrap_or(0.0);
    assert!((total_cost - cost).abs() < 1e-9, "{total_cost} vs {cost}");
    assert_eq!(totals["projected_monthly_cost_after_free_tier_usd"], 0.0);
    app.stop().await
}
