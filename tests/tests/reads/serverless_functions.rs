//! Functions, cold starts and costs from known telemetry: several functions,
//! instances and memory sizes (MiB and bytes), x86 and arm, AWS, Azure and
//! Google Cloud, errors, with and without `faas.coldstart`, REPORT lines
//! before and after their spans, a metrics-only function, a function priced
//! through a configuration override, and one that cannot be priced. Every
//! expected number is computed here from what the test sent.

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1 as metrics_proto;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as trace_proto;
use prost::Message;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tracehouse_tests::{now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const X86_RATE: f64 = 0.0000166667;
const ARM_RATE: f64 = 0.0000133334;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn boolean(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

/// How a function describes itself.
#[derive(Clone)]
struct FunctionSetup {
    name: &'static str,
    resource: Vec<KeyValue>,
    /// Pricing as the test computes it.
    pricing: Pricing,
}

#[derive(Clone, Copy)]
enum Pricing {
    Aws { memory_mb: f64, rate: f64 },
    Azure { billed_memory_mb: f64 },
    Gcp { memory_mb: f64, vcpu: f64 },
    Unknown,
}

/// One invocation the test sends.
#[derive(Clone)]
struct Sent {
    function: &'static str,
    instance: &'static str,
    request_id: String,
    span_id: [u8; 8],
    start: u64,
    duration_ns: u64,
    error_status: bool,
    exception_event: bool,
    coldstart_attribute: Option<bool>,
    /// REPORT line figures: billed ms, memory MB, init ms.
    report: Option<(u64, f64, f64)>,
}

impl Sent {
    fn duration_ms(&self) -> f64 {
        self.duration_ns as f64 / 1e6
    }

    fn is_error(&self) -> bool {
        self.error_status || self.exception_event
    }

    fn cost(&self, pricing: Pricing) -> Option<f64> {
        let ceil_ms = self.duration_ns.div_ceil(MS) as f64;
        match pricing {
            Pricing::Aws { memory_mb, rate } => Some(match self.report {
                Some((billed, report_memory, _)) => {
                    0.20e-6 + billed as f64 / 1000.0 * report_memory / 1024.0 * rate
                }
                None => 0.20e-6 + ceil_ms / 1000.0 * memory_mb / 1024.0 * rate,
            }),
            Pricing::Azure { billed_memory_mb } => {
                Some(0.20e-6 + ceil_ms.max(100.0) / 1000.0 * billed_memory_mb / 1024.0 * 0.000016)
            }
            Pricing::Gcp { memory_mb, vcpu } => {
                let seconds = self.duration_ns.div_ceil(100 * MS) as f64 * 100.0 / 1000.0;
                Some(0.40e-6 + seconds * memory_mb / 1024.0 * 0.0000025 + seconds * vcpu * 0.000024)
            }
            Pricing::Unknown => None,
        }
    }
}

/// Quantile with linear interpolation between the closest ranks, which is
/// what ClickHouse's `quantiles` computes exactly for up to 8192 values.
fn quantile(values: &[f64], level: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = level * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower as f64)
}

fn close(actual: &Value, expected: f64, tolerance: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected}"
    );
}

fn functions() -> Vec<FunctionSetup> {
    vec![
        FunctionSetup {
            name: "resize",
            // Memory in bytes, architecture as the Go runtime names it, no faas.coldstart.
            resource: vec![
                string("service.name", "images"),
                string("faas.name", "resize"),
                string("cloud.provider", "aws"),
                string("cloud.platform", "aws_lambda"),
                string("cloud.region", "eu-west-1"),
                int("faas.max_memory", 134_217_728),
                string("host.arch", "amd64"),
            ],
            pricing: Pricing::Aws {
                memory_mb: 128.0,
                rate: X86_RATE,
            },
        },
        FunctionSetup {
            name: "thumbnail",
            // Memory in MiB as older SDKs send it, arm, faas.coldstart set.
            resource: vec![
                string("service.name", "thumbnail"),
                string("cloud.platform", "aws_lambda"),
                int("faas.max_memory", 512),
                string("host.arch", "arm64"),
                string("faas.instance", "t-1"),
            ],
            pricing: Pricing::Aws {
                memory_mb: 512.0,
                rate: ARM_RATE,
            },
        },
        FunctionSetup {
            name: "orders-api",
            resource: vec![
                string("service.name", "orders-api"),
                string("cloud.provider", "azure"),
                string("cloud.platform", "azure_functions"),
                string("cloud.region", "westeurope"),
                int("faas.max_memory", 209_715_200),
                string("service.instance.id", "az-1"),
            ],
            pricing: Pricing::Azure {
                billed_memory_mb: 256.0,
            },
        },
        FunctionSetup {
            name: "gcp-fn",
            resource: vec![
                string("service.name", "gcp-fn"),
                string("cloud.platform", "gcp_cloud_functions"),
                int("faas.max_memory", 268_435_456),
                string("faas.instance", "g-1"),
            ],
            pricing: Pricing::Gcp {
                memory_mb: 256.0,
                vcpu: 0.167,
            },
        },
        FunctionSetup {
            name: "overridden",
            // Memory and architecture only from the configuration.
            resource: vec![
                string("service.name", "overridden"),
                string("cloud.platform", "aws_lambda"),
                string("faas.instance", "o-1"),
            ],
            pricing: Pricing::Aws {
                memory_mb: 256.0,
                rate: ARM_RATE,
            },
        },
        FunctionSetup {
            name: "mystery",
            resource: vec![
                string("service.name", "svc"),
                string("faas.name", "mystery"),
            ],
            pricing: Pricing::Unknown,
        },
    ]
}

/// One planned invocation: function, instance, start offset in seconds,
/// duration in ns, error status, exception event, `faas.coldstart`.
type PlannedInvocation = (
    &'static str,
    &'static str,
    u64,
    u64,
    bool,
    bool,
    Option<bool>,
);

/// The invocations the test sends.
fn plan(base: u64) -> Vec<Sent> {
    let rows: Vec<PlannedInvocation> = vec![
        ("resize", "i-a", 5, 1_234_567_891, false, false, None),
        ("resize", "i-a", 75, 412_300_001, false, false, None),
        ("resize", "i-a", 140, 398_000_000, true, false, None),
        ("resize", "i-b", 65, 888_888_888, false, false, None),
        ("resize", "i-b", 200, 377_777_777, false, true, None),
        ("resize", "i-b", 320, 401_000_000, false, false, None),
        (
            "thumbnail",
            "t-1",
            10,
            2_500_000_000,
            false,
            false,
            Some(true),
        ),
        (
            "thumbnail",
            "t-1",
            20,
            640_100_000,
            false,
            false,
            Some(false),
        ),
        (
            "thumbnail",
            "t-1",
            30,
            650_900_000,
            false,
            false,
            Some(false),
        ),
        (
            "thumbnail",
            "t-1",
            400,
            700_000_001,
            true,
            false,
            Some(false),
        ),
        ("orders-api", "az-1", 15, 50_000_000, false, false, None),
        ("orders-api", "az-1", 25, 150_200_000, false, false, None),
        ("orders-api", "az-1", 35, 99_900_000, false, false, None),
        ("gcp-fn", "g-1", 12, 120_000_000, false, false, None),
        ("gcp-fn", "g-1", 130, 250_000_001, false, false, None),
        ("overridden", "o-1", 50, 333_333_333, false, false, None),
        ("overridden", "o-1", 90, 111_111_111, false, false, None),
        ("mystery", "", 44, 10_000_000, false, false, None),
    ];
    rows.into_iter()
        .enumerate()
        .map(
            |(index, (function, instance, offset, duration_ns, error, exception, coldstart))| {
                let number = u8::try_from(index + 1).expect("few invocations");
                Sent {
                    function,
                    instance,
                    request_id: format!("req-{function}-{index}"),
                    span_id: [number; 8],
                    start: base + offset * SECOND,
                    duration_ns,
                    error_status: error,
                    exception_event: exception,
                    coldstart_attribute: coldstart,
                    report: None,
                }
            },
        )
        .collect()
}

fn entry_span(sent: &Sent) -> trace_proto::Span {
    let mut attributes = vec![
        string("faas.trigger", "http"),
        string("faas.invocation_id", &sent.request_id),
    ];
    if let Some(cold) = sent.coldstart_attribute {
        attributes.push(boolean("faas.coldstart", cold));
    }
    trace_proto::Span {
        trace_id: [sent.span_id[0]; 16].to_vec(),
        span_id: sent.span_id.to_vec(),
        name: format!("{} handler", sent.function),
        kind: trace_proto::span::SpanKind::Server as i32,
        start_time_unix_nano: sent.start,
        end_time_unix_nano: sent.start + sent.duration_ns,
        attributes,
        events: if sent.exception_event {
            vec![trace_proto::span::Event {
                time_unix_nano: sent.start + MS,
                name: "exception".to_owned(),
                ..Default::default()
            }]
        } else {
            vec![]
        },
        status: sent.error_status.then(|| trace_proto::Status {
            code: trace_proto::status::StatusCode::Error as i32,
            message: "failed".to_owned(),
        }),
        ..Default::default()
    }
}

/// Spans inside an invocation that must not count as invocations: a
/// SERVER child and a CONSUMER child of the same function in the same export.
fn inner_spans(sent: &Sent) -> Vec<trace_proto::Span> {
    [
        (0xa0u8, trace_proto::span::SpanKind::Server),
        (0xb0u8, trace_proto::span::SpanKind::Consumer),
    ]
    .into_iter()
    .map(|(marker, kind)| trace_proto::Span {
        trace_id: [sent.span_id[0]; 16].to_vec(),
        span_id: [marker, sent.span_id[0], 0, 0, 0, 0, 0, 1].to_vec(),
        parent_span_id: sent.span_id.to_vec(),
        name: "inner".to_owned(),
        kind: kind as i32,
        start_time_unix_nano: sent.start + MS,
        end_time_unix_nano: sent.start + 2 * MS,
        ..Default::default()
    })
    .collect()
}

fn trace_request(setups: &[FunctionSetup], invocations: &[&Sent]) -> ExportTraceServiceRequest {
    let resource_spans = setups
        .iter()
        .filter_map(|setup| {
            let mine: Vec<&&Sent> = invocations
                .iter()
                .filter(|sent| sent.function == setup.name)
                .collect();
            let instance = mine.first()?.instance;
            let mut resource = setup.resource.clone();
            if setup.name == "resize" {
                resource.push(string("faas.instance", instance));
            }
            let spans = mine
                .iter()
                .flat_map(|sent| {
                    let mut spans = vec![entry_span(sent)];
                    spans.extend(inner_spans(sent));
                    spans
                })
                .collect();
            Some(trace_proto::ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_spans: vec![trace_proto::ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

async fn post_protobuf(app: &TestApp, path: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let response = app
        .http
        .post(format!("{}{path}", app.otlp_http_url()))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(())
}

/// Sends one invocation group per request, one resource per (function, instance).
async fn send_spans(
    app: &TestApp,
    setups: &[FunctionSetup],
    invocations: &[&Sent],
) -> anyhow::Result<()> {
    let mut by_instance: BTreeMap<(&str, &str), Vec<&Sent>> = BTreeMap::new();
    for sent in invocations {
        by_instance
            .entry((sent.function, sent.instance))
            .or_default()
            .push(sent);
    }
    let mut request = ExportTraceServiceRequest::default();
    for group in by_instance.values() {
        request
            .resource_spans
            .extend(trace_request(setups, group).resource_spans);
    }
    post_protobuf(app, "/v1/traces", request.encode_to_vec()).await
}

async fn send_report(app: &TestApp, sent: &Sent, time: u64) -> anyhow::Result<()> {
    let (billed, memory, init) = sent.report.expect("a report");
    let line = format!(
        "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: 70 MB\tInit Duration: {init} ms\t",
        sent.request_id,
        sent.duration_ms(),
    );
    let body = json!({"resourceLogs": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "images"}},
            {"key": "faas.name", "value": {"stringValue": sent.function}}
        ]},
        "scopeLogs": [{"logRecords": [
            {"timeUnixNano": time.to_string(), "body": {"stringValue": line}},
            {"timeUnixNano": time.to_string(), "body": {"stringValue": "an ordinary log line"}}
        ]}]
    }]});
    let response = app
        .http
        .post(format!("{}/v1/logs", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "logs: {}", response.status());
    Ok(())
}

fn metric_point(time: u64, value: i64) -> metrics_proto::NumberDataPoint {
    metrics_proto::NumberDataPoint {
        time_unix_nano: time,
        start_time_unix_nano: time - 60 * SECOND,
        value: Some(metrics_proto::number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn delta_sum(name: &str, time: u64, value: i64) -> metrics_proto::Metric {
    metrics_proto::Metric {
        name: name.to_owned(),
        unit: "1".to_owned(),
        data: Some(metrics_proto::metric::Data::Sum(metrics_proto::Sum {
            data_points: vec![metric_point(time, value)],
            aggregation_temporality: metrics_proto::AggregationTemporality::Delta as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// `legacy-cron` sends only FaaS metrics; `resize` sends some too, which
/// must not add to what its spans say.
fn metrics_request(base: u64) -> ExportMetricsServiceRequest {
    let legacy = metrics_proto::ResourceMetrics {
        resource: Some(Resource {
            attributes: vec![
                string("service.name", "legacy-cron"),
                string("cloud.provider", "aws"),
                int("faas.max_memory", 1024),
                string("host.arch", "x86_64"),
            ],
            ..Default::default()
        }),
        scope_metrics: vec![metrics_proto::ScopeMetrics {
            metrics: vec![
                delta_sum("faas.invocations", base + 60 * SECOND, 10),
                delta_sum("faas.errors", base + 60 * SECOND, 2),
                delta_sum("faas.coldstarts", base + 60 * SECOND, 1),
                delta_sum("faas.timeouts", base + 60 * SECOND, 1),
                metrics_proto::Metric {
                    name: "faas.invoke_duration".to_owned(),
                    unit: "ms".to_owned(),
                    data: Some(metrics_proto::metric::Data::Histogram(
                        metrics_proto::Histogram {
                            data_points: vec![metrics_proto::HistogramDataPoint {
                                time_unix_nano: base + 60 * SECOND,
                                start_time_unix_nano: base,
                                count: 10,
                                sum: Some(1000.0),
                                bucket_counts: vec![0, 5, 5, 0],
                                explicit_bounds: vec![50.0, 100.0, 200.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: metrics_proto::AggregationTemporality::Delta
                                as i32,
                        },
                    )),
                    ..Default::default()
                },
                metrics_proto::Metric {
                    name: "faas.mem_usage".to_owned(),
                    unit: "By".to_owned(),
                    data: Some(metrics_proto::metric::Data::Gauge(metrics_proto::Gauge {
                        data_points: vec![metric_point(base + 60 * SECOND, 70_000_000)],
                    })),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resize = metrics_proto::ResourceMetrics {
        resource: Some(Resource {
            attributes: vec![
                string("service.name", "images"),
                string("faas.name", "resize"),
            ],
            ..Default::default()
        }),
        scope_metrics: vec![metrics_proto::ScopeMetrics {
            metrics: vec![delta_sum("faas.invocations", base + 60 * SECOND, 6)],
            ..Default::default()
        }],
        ..Default::default()
    };
    // Spans but no REPORT lines: its init durations come from this histogram.
    let thumbnail = metrics_proto::ResourceMetrics {
        resource: Some(Resource {
            attributes: vec![string("service.name", "thumbnail")],
            ..Default::default()
        }),
        scope_metrics: vec![metrics_proto::ScopeMetrics {
            metrics: vec![metrics_proto::Metric {
                name: "faas.init_duration".to_owned(),
                unit: "ms".to_owned(),
                data: Some(metrics_proto::metric::Data::Histogram(
                    metrics_proto::Histogram {
                        data_points: vec![metrics_proto::HistogramDataPoint {
                            time_unix_nano: base + 60 * SECOND,
                            start_time_unix_nano: base,
                            count: 1,
                            sum: Some(310.0),
                            bucket_counts: vec![0, 0, 1, 0],
                            explicit_bounds: vec![100.0, 200.0, 400.0],
                            ..Default::default()
                        }],
                        aggregation_temporality: metrics_proto::AggregationTemporality::Delta
                            as i32,
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![legacy, resize, thumbnail],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_cold_starts_and_costs_match_what_was_sent() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        config.functions.insert(
            "overridden".to_owned(),
            tracehouse_query::pricing::FunctionOverride {
                memory_mb: Some(256),
                arch: Some("arm64".to_owned()),
                ..Default::default()
            },
        );
    })
    .await?;
    let setups = functions();
    // A window of ten whole minutes that ended twenty minutes ago.
    let base = (now_unix_nanos() - 30 * 60 * SECOND) / (60 * SECOND) * (60 * SECOND);
    let from_ms = base / MS;
    let to_ms = from_ms + 10 * 60 * 1000;
    let mut sent = plan(base);
    // REPORT lines for the first invocation of each resize instance: one
    // arrives before its span, one after.
    sent[0].report = Some((1300, 128.0, 250.12));
    sent[3].report = Some((900, 128.0, 300.5));

    send_report(&app, &sent[0], sent[0].start + sent[0].duration_ns).await?;
    app.wait_for_rows("SELECT count() AS count FROM platform_reports", 1)
        .await?;

    // The later invocations of each instance first, the earliest ones in a
    // second request: the cold start is the first by time, not by arrival.
    let earliest = [0usize, 3];
    let later: Vec<&Sent> = sent
        .iter()
        .enumerate()
        .filter(|(index, _)| !earliest.contains(index))
        .map(|(_, sent)| sent)
        .collect();
    send_spans(&app, &setups, &later).await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM invocations",
        later.len() as u64,
    )
    .await?;
    let first: Vec<&Sent> = earliest.iter().map(|index| &sent[*index]).collect();
    send_spans(&app, &setups, &first).await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM invocations",
        sent.len() as u64,
    )
    .await?;
    send_report(&app, &sent[3], sent[3].start + sent[3].duration_ns).await?;
    app.wait_for_rows("SELECT count() AS count FROM platform_reports", 2)
        .await?;

    let mut metrics_client = MetricsServiceClient::connect(app.otlp_grpc_url()).await?;
    metrics_client.export(metrics_request(base)).await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM metric_points WHERE metric_name LIKE 'faas.%'",
        8,
    )
    .await?;

    let window = format!("from={from_ms}&to={to_ms}");
    // resize 2 (one per instance), thumbnail, orders-api, gcp-fn and overridden 1 each;
    // each is checked against what was sent below.
    let expected_cold_starts = 6;
    let body = app
        .wait_for_json(&format!("/api/v1/functions?{window}"), |body| {
            let span_cold_starts: u64 = body["functions"]
                .as_array()
                .map(|functions| {
                    functions
                        .iter()
                        .filter(|function| function["source"] == "spans")
                        .filter_map(|function| function["cold_starts"].as_u64())
                        .sum()
                })
                .unwrap_or(0);
            span_cold_starts >= expected_cold_starts
        })
        .await?;
    assert_eq!(body["from"], from_ms);
    assert_eq!(body["to"], to_ms);
    let listed: BTreeMap<String, Value> = body["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|function| {
            (
                function["function"].as_str().unwrap_or("").to_owned(),
                function.clone(),
            )
        })
        .collect();
    let mut expected_names: Vec<&str> = setups.iter().map(|setup| setup.name).collect();
    expected_names.push("legacy-cron");
    expected_names.sort();
    assert_eq!(
        listed.keys().map(String::as_str).collect::<Vec<_>>(),
        expected_names
    );

    for setup in &setups {
        let mine: Vec<&Sent> = sent.iter().filter(|s| s.function == setup.name).collect();
        let function = &listed[setup.name];
        let what = |field: &str| format!("{} {field}", setup.name);
        // Cold: the span's faas.coldstart, else the first start per instance.
        let cold: Vec<bool> = mine
            .iter()
            .map(|invocation| match invocation.coldstart_attribute {
                Some(flag) => flag,
                None => {
                    !invocation.instance.is_empty()
                        && mine
                            .iter()
                            .filter(|other| other.instance == invocation.instance)
                            .all(|other| other.start >= invocation.start)
                }
            })
            .collect();
        let invocations = mine.len() as u64;
        let errors = mine.iter().filter(|s| s.is_error()).count() as u64;
        let cold_starts = cold.iter().filter(|c| **c).count() as u64;
        assert_eq!(function["source"], "spans", "{}", what("source"));
        assert_eq!(
            function["invocations"],
            invocations,
            "{}",
            what("invocations")
        );
        assert_eq!(function["errors"], errors, "{}", what("errors"));
        assert_eq!(
            function["cold_starts"],
            cold_starts,
            "{}",
            what("cold_starts")
        );
        close(
            &function["error_rate"],
            errors as f64 / invocations as f64,
            1e-12,
            &what("error_rate"),
        );
        close(
            &function["cold_start_rate"],
            cold_starts as f64 / invocations as f64,
            1e-12,
            &what("cold_start_rate"),
        );
        let durations: Vec<f64> = mine.iter().map(|s| s.duration_ms()).collect();
        let duration = &function["duration_ms"];
        close(
            &duration["avg"],
            durations.iter().sum::<f64>() / durations.len() as f64,
            1e-6,
            &what("avg"),
        );
        close(
            &duration["max"],
            durations.iter().copied().fold(0.0, f64::max),
            1e-9,
            &what("max"),
        );
        // Exact (linear interpolation) below 8192 values per function.
        for (key, level) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
            close(
                &duration[key],
                quantile(&durations, level),
                1e-6,
                &what(key),
            );
        }
        let warm: Vec<f64> = mine
            .iter()
            .zip(&cold)
            .filter(|(_, c)| !**c)
            .map(|(s, _)| s.duration_ms())
            .collect();
        let cold_durations: Vec<f64> = mine
            .iter()
            .zip(&cold)
            .filter(|(_, c)| **c)
            .map(|(s, _)| s.duration_ms())
            .collect();
        if !warm.is_empty() && !cold_durations.is_empty() {
            let warm_p50 = quantile(&warm, 0.5);
            let cold_p50 = quantile(&cold_durations, 0.5);
            close(
                &function["warm_p50_ms"],
                warm_p50,
                1e-6,
                &what("warm_p50_ms"),
            );
            close(
                &function["cold_p50_ms"],
                cold_p50,
                1e-6,
                &what("cold_p50_ms"),
            );
            close(
                &function["cold_start_penalty_ms"],
                cold_p50 - warm_p50,
                1e-6,
                &what("penalty"),
            );
        } else {
            assert!(
                function["cold_start_penalty_ms"].is_null(),
                "{}",
                what("penalty")
            );
        }
        match setup.pricing {
            Pricing::Unknown => {
                assert!(function["cost_usd"].is_null(), "{}", what("cost_usd"));
                let reason = function["cost_unknown_reason"].as_str().unwrap_or("");
                assert!(
                    reason.contains("provider unknown"),
                    "{}: {reason}",
                    what("reason")
                );
                assert!(function["projected_monthly_cost_usd"].is_null());
            }
            pricing => {
                let costs: Vec<f64> = mine.iter().filter_map(|s| s.cost(pricing)).collect();
                let total: f64 = costs.iter().sum();
                close(&function["cost_usd"], total, 1e-9, &what("cost_usd"));
                close(
                    &function["cost_per_million_invocations_usd"],
                    total / invocations as f64 * 1e6,
                    1e-6,
                    &what("cost per million"),
                );
                close(
                    &function["projected_monthly_cost_usd"],
                    total / 600.0 * 730.0 * 3600.0,
                    1e-6,
                    &what("projected"),
                );
                let cold_cost: f64 = mine
                    .iter()
                    .zip(&cold)
                    .filter(|(_, c)| **c)
                    .filter_map(|(s, _)| s.cost(pricing))
                    .sum();
                let warm_costs: Vec<f64> = mine
                    .iter()
                    .zip(&cold)
                    .filter(|(_, c)| !**c)
                    .filter_map(|(s, _)| s.cost(pricing))
                    .collect();
                if cold_starts > 0 && !warm_costs.is_empty() {
                    let warm_average = warm_costs.iter().sum::<f64>() / warm_costs.len() as f64;
                    close(
                        &function["cold_start_penalty_usd"],
                        cold_cost - warm_average * cold_starts as f64,
                        1e-9,
                        &what("penalty usd"),
                    );
                }
            }
        }
    }

    // Architecture, memory and provider as the API reports them.
    let resize = &listed["resize"];
    assert_eq!(resize["provider"], "aws");
    assert_eq!(resize["region"], "eu-west-1");
    assert_eq!(resize["memory_mb"], 128);
    assert_eq!(resize["arch"], "x86_64");
    assert_eq!(resize["service"], "images");
    assert_eq!(listed["thumbnail"]["memory_mb"], 512);
    assert_eq!(listed["thumbnail"]["arch"], "arm64");
    assert_eq!(listed["orders-api"]["memory_mb"], 200);
    assert_eq!(listed["overridden"]["memory_mb"], 256);
    assert_eq!(listed["overridden"]["arch"], "arm64");
    // Init durations come from the two REPORT lines.
    let inits = [250.12, 300.5];
    close(
        &resize["init_duration_ms"]["p50"],
        quantile(&inits, 0.5),
        1e-6,
        "resize init p50",
    );
    close(
        &resize["init_duration_ms"]["p95"],
        quantile(&inits, 0.95),
        1e-6,
        "resize init p95",
    );
    // The one init of thumbnail lies in (200, 400]: interpolated inside that bucket.
    close(
        &listed["thumbnail"]["init_duration_ms"]["p50"],
        300.0,
        1e-9,
        "thumbnail init p50",
    );
    close(
        &listed["thumbnail"]["init_duration_ms"]["p95"],
        390.0,
        1e-9,
        "thumbnail init p95",
    );
    assert!(listed["orders-api"]["init_duration_ms"].is_null());

    // The metrics-only function, from its delta points, without per-invocation rounding.
    let legacy = &listed["legacy-cron"];
    assert_eq!(legacy["source"], "metrics");
    assert_eq!(legacy["invocations"], 10);
    assert_eq!(legacy["errors"], 2);
    assert_eq!(legacy["cold_starts"], 1);
    assert_eq!(legacy["timeouts"], 1);
    assert!(resize["timeouts"].is_null());
    close(&legacy["duration_ms"]["avg"], 100.0, 1e-9, "legacy avg");
    // Half the invocations are in (50, 100], half in (100, 200]: the median is 100.
    close(&legacy["duration_ms"]["p50"], 100.0, 1e-9, "legacy p50");
    close(
        &legacy["cost_usd"],
        10.0 * 0.20e-6 + 1000.0 / 1000.0 * 1024.0 / 1024.0 * X86_RATE,
        1e-9,
        "legacy cost",
    );

    // The metrics-only function's time series: everything in the minute of its points.
    let (status, legacy_series) = app
        .get_json(&format!(
            "/api/v1/functions/legacy-cron/timeseries?{window}&step=1m"
        ))
        .await?;
    assert_eq!(status, 200, "{legacy_series}");
    assert_eq!(legacy_series["source"], "metrics");
    let legacy_buckets = legacy_series["buckets"].as_array().expect("buckets");
    assert_eq!(legacy_buckets.len(), 10);
    for (index, bucket) in legacy_buckets.iter().enumerate() {
        let (invocations, errors, cold_starts) = if index == 1 { (10, 2, 1) } else { (0, 0, 0) };
        assert_eq!(bucket["invocations"], invocations, "legacy bucket {index}");
        assert_eq!(bucket["errors"], errors);
        assert_eq!(bucket["cold_starts"], cold_starts);
        let expected_cost = if index == 1 {
            legacy["cost_usd"].as_f64().unwrap_or(-1.0)
        } else {
            0.0
        };
        close(
            &bucket["cost_usd"],
            expected_cost,
            1e-12,
            "legacy bucket cost",
        );
    }

    // The time series of resize: per minute, empty minutes as zeros, and
    // bucket costs that add up to the function's cost.
    let (status, series) = app
        .get_json(&format!(
            "/api/v1/functions/resize/timeseries?{window}&step=60s"
        ))
        .await?;
    assert_eq!(status, 200, "{series}");
    let buckets = series["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 10);
    let resize_sent: Vec<&Sent> = sent.iter().filter(|s| s.function == "resize").collect();
    let mut bucket_cost_sum = 0.0;
    for (index, bucket) in buckets.iter().enumerate() {
        let start = base + index as u64 * 60 * SECOND;
        assert_eq!(bucket["time"], start / MS);
        let inside: Vec<&&Sent> = resize_sent
            .iter()
            .filter(|s| s.start >= start && s.start < start + 60 * SECOND)
            .collect();
        assert_eq!(bucket["invocations"], inside.len() as u64, "bucket {index}");
        assert_eq!(
            bucket["errors"],
            inside.iter().filter(|s| s.is_error()).count() as u64
        );
        let expected_cost: f64 = inside
            .iter()
            .filter_map(|s| s.cost(setups[0].pricing))
            .sum();
        close(
            &bucket["cost_usd"],
            expected_cost,
            1e-9,
            &format!("bucket {index} cost"),
        );
        bucket_cost_sum += bucket["cost_usd"].as_f64().unwrap_or(0.0);
        if inside.is_empty() {
            assert_eq!(bucket["p50_ms"], 0.0, "empty bucket {index}");
            assert_eq!(bucket["p95_ms"], 0.0, "empty bucket {index}");
        }
        if inside.len() == 1 {
            close(
                &bucket["p50_ms"],
                inside[0].duration_ms(),
                1e-6,
                "bucket p50",
            );
        }
    }
    close(&resize["cost_usd"], bucket_cost_sum, 1e-9, "buckets add up");
    assert_eq!(
        buckets[1]["cold_starts"], 1,
        "i-b starts in the second minute"
    );

    // Cold starts of resize: both instances' first invocations, with the
    // init durations of their REPORT lines, newest first.
    let (status, cold) = app
        .get_json(&format!("/api/v1/coldstarts?function=resize&{window}"))
        .await?;
    assert_eq!(status, 200, "{cold}");
    let listed_cold = cold["cold_starts"].as_array().expect("cold starts");
    assert_eq!(listed_cold.len(), 2);
    assert_eq!(listed_cold[0]["instance"], "i-b");
    assert_eq!(listed_cold[0]["span_id"], hex::encode(sent[3].span_id));
    assert_eq!(
        listed_cold[0]["trace_id"],
        hex::encode([sent[3].span_id[0]; 16])
    );
    assert_eq!(listed_cold[0]["start_time_unix_nano"], sent[3].start);
    close(&listed_cold[0]["init_duration_ms"], 300.5, 1e-9, "init b");
    assert_eq!(listed_cold[1]["instance"], "i-a");
    close(&listed_cold[1]["init_duration_ms"], 250.12, 1e-9, "init a");
    close(
        &listed_cold[1]["duration_ms"],
        sent[0].duration_ms(),
        1e-9,
        "cold duration",
    );
    let histogram = cold["histogram"].as_array().expect("histogram");
    let cold_total: u64 = histogram
        .iter()
        .map(|b| b["cold"].as_u64().unwrap_or(0))
        .sum();
    let warm_total: u64 = histogram
        .iter()
        .map(|b| b["warm"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!((cold_total, warm_total), (2, 4));
    for bucket in histogram {
        let le = bucket["le_ms"].as_f64().unwrap_or(0.0);
        let expected = resize_sent
            .iter()
            .filter(|s| s.duration_ms() <= le && s.duration_ms() > le / 2.0)
            .count() as u64;
        assert_eq!(
            bucket["cold"].as_u64().unwrap_or(0) + bucket["warm"].as_u64().unwrap_or(0),
            expected
        );
    }

    // The functions page shows the same list.
    let (status, page) = app.get_text(&format!("/functions?{window}")).await?;
    assert_eq!(status, 200);
    for name in &expected_names {
        assert!(
            page.contains(&format!("<code>{name}</code>")),
            "page lacks {name}"
        );
    }
    assert!(
        page.contains("(metrics)"),
        "metrics-only function not marked"
    );
    assert!(page.contains(&format!(
        "${:.6}",
        resize["cost_usd"].as_f64().unwrap_or(0.0)
    )));
    let (status, _) = app.get_text("/functions?from=soon").await?;
    assert_eq!(status, 400);

    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_functions_and_bad_parameters_are_json_errors() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (status, body) = app.get_json("/api/v1/functions").await?;
    assert_eq!(status, 200);
    assert_eq!(body["functions"], json!([]));
    let to = body["to"].as_u64().unwrap_or(0);
    assert_eq!(
        to - body["from"].as_u64().unwrap_or(0),
        3_600_000,
        "default window is one hour"
    );

    let cases = [
        ("/api/v1/functions/nope/timeseries", 404, "not found"),
        ("/api/v1/coldstarts?function=nope", 404, "not found"),
        ("/api/v1/coldstarts", 400, "function"),
        ("/api/v1/functions?from=yesterday", 400, "from"),
        ("/api/v1/functions?to=12x", 400, "to"),
        ("/api/v1/functions?from=now&to=now-1h", 400, "from"),
        ("/api/v1/functions/nope/timeseries?step=abc", 400, "step"),
        (
            "/api/v1/functions/nope/timeseries?from=now-6d&step=1s",
            400,
            "step",
        ),
    ];
    for (path, expected_status, mentions) in cases {
        let (status, body) = app.get_json(path).await?;
        assert_eq!(status, expected_status, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or("");
        assert!(message.contains(mentions), "{path}: {message}");
    }
    // An absolute start (Unix milliseconds, two days ago) and a relative end.
    let two_days_ago_ms = tracehouse_model::time::now_unix_nano() / 1_000_000 - 2 * 86_400_000;
    let (status, _) = app
        .get_json(&format!(
            "/api/v1/functions?from={two_days_ago_ms}&to=now-1m"
        ))
        .await?;
    assert_eq!(status, 200);
    let (status, body) = app.get_json("/api/v1/functions?project=other").await?;
    assert_eq!((status, &body["functions"]), (200, &json!([])));
    app.stop().await
}
