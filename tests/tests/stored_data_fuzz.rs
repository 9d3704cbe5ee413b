//! Whatever was stored, the reads answer: random FaaS metric points
//! (histograms of any shape, non-finite and negative values, any
//! temporality) and random function spans are sent through the real OTLP
//! receiver into a real ClickHouse, then every functions, cold-start and
//! chains read (API and pages) must answer without a server error. A
//! bounded number of cases keeps the run short.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message;
use tracehouse_tests::{now_unix_nanos, TestApp};

const FUNCTIONS: &[&str] = &["resize", "checkout", "a b/<c>"];
const METRICS: &[&str] = &[
    "faas.invocations",
    "faas.errors",
    "faas.coldstarts",
    "faas.timeouts",
    "faas.invoke_duration",
    "faas.init_duration",
    "faas.mem_usage",
];

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn resource(function: &str, provider: &str, memory: &str) -> Resource {
    Resource {
        attributes: vec![
            text("service.name", function),
            text("faas.name", function),
            text("cloud.provider", provider),
            text("faas.max_memory", memory),
        ],
        ..Resource::default()
    }
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        0.0..10_000.0
    ]
}

/// One point of a random FaaS metric, up to an hour old.
fn metric_strategy() -> impl Strategy<Value = Metric> {
    let now = now_unix_nanos();
    (
        proptest::sample::select(METRICS),
        0u64..3_600_000_000_000,
        0u64..3_600_000_000_000,
        0i32..3,
        proptest::collection::vec(number(), 0..5),
        proptest::collection::vec(0u64..1_000, 0..6),
        number(),
        0u8..3,
    )
        .prop_map(
            move |(name, age, span, temporality, bounds, counts, value, kind)| {
                let time = now - age;
                let start = time.saturating_sub(span);
                let number = NumberDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value: Some(number_data_point::Value::AsDouble(value)),
                    ..NumberDataPoint::default()
                };
                let data = match kind {
                    0 => metric::Data::Sum(Sum {
                        data_points: vec![number],
                        aggregation_temporality: temporality,
                        is_monotonic: true,
                    }),
                    1 => metric::Data::Gauge(Gauge {
                        data_points: vec![number],
                    }),
                    _ => metric::Data::Histogram(Histogram {
                        data_points: vec![HistogramDataPoint {
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: counts.iter().sum(),
                            sum: Some(value),
                            bucket_counts: counts,
                            explicit_bounds: bounds,
                            ..HistogramDataPoint::default()
                        }],
                        aggregation_temporality: temporality,
                    }),
                };
                Metric {
                    name: name.to_owned(),
                    unit: "ms".to_owned(),
                    data: Some(data),
                    ..Metric::default()
                }
            },
        )
}

/// An entry span of a random function, up to an hour old, maybe cold.
fn span_strategy() -> impl Strategy<Value = (usize, Span)> {
    let now = now_unix_nanos();
    (
        0..FUNCTIONS.len(),
        1u128..u128::MAX,
        1u64..u64::MAX,
        0u64..3_600_000_000_000,
        0u64..30_000_000_000,
        any::<bool>(),
        0i32..3,
    )
        .prop_map(
            move |(function, trace, span, age, duration, cold, status)| {
                let start = now - age;
                let mut attributes = vec![text("faas.invocation_id", &format!("{span:x}"))];
                attributes.push(KeyValue {
                    key: "faas.coldstart".to_owned(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::BoolValue(cold)),
                    }),
                    ..KeyValue::default()
                });
                let span = Span {
                    trace_id: trace.to_be_bytes().to_vec(),
                    span_id: span.to_be_bytes().to_vec(),
                    name: FUNCTIONS[function].to_owned(),
                    kind: 2,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + duration,
                    attributes,
                    status: Some(opentelemetry_proto::tonic::trace::v1::Status {
                        code: status,
                        ..Default::default()
                    }),
                    ..Span::default()
                };
                (function, span)
            },
        )
}

#[derive(Debug, Clone)]
struct Batch {
    metrics: Vec<(usize, String, String, Metric)>,
    spans: Vec<(usize, Span)>,
}

fn batch_strategy() -> impl Strategy<Value = Batch> {
    let provider = proptest::sample::select(&["aws", "gcp", "azure", "", "moon"][..]);
    let memory = prop_oneof![
        Just("128".to_owned()),
        Just("-5".to_owned()),
        Just("99999999999999999999".to_owned()),
        ".{0,6}"
    ];
    (
        proptest::collection::vec(
            (0..FUNCTIONS.len(), provider, memory, metric_strategy()),
            0..12,
        ),
        proptest::collection::vec(span_strategy(), 0..12),
    )
        .prop_map(|(metrics, spans)| Batch {
            metrics: metrics
                .into_iter()
                .map(|(function, provider, memory, metric)| {
                    (function, provider.to_owned(), memory, metric)
                })
                .collect(),
            spans,
        })
}

async fn post<M: Message, R: Message + Default>(
    app: &TestApp,
    path: &str,
    request: &M,
) -> anyhow::Result<R> {
    let response = app
        .http
        .post(format!("{}{path}", app.otlp_http_url()))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(R::decode(response.bytes().await?)?)
}

/// Sends `batch`; returns the points and spans accepted.
async fn send(app: &TestApp, batch: &Batch) -> anyhow::Result<(u64, u64)> {
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: batch
            .metrics
            .iter()
            .map(|(function, provider, memory, metric)| ResourceMetrics {
                resource: Some(resource(FUNCTIONS[*function], provider, memory)),
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![metric.clone()],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            })
            .collect(),
    };
    let answer: ExportMetricsServiceResponse = post(app, "/v1/metrics", &metrics).await?;
    let rejected_points = answer
        .partial_success
        .map_or(0, |partial| partial.rejected_data_points);
    let spans = ExportTraceServiceRequest {
        resource_spans: batch
            .spans
            .iter()
            .map(|(function, span)| ResourceSpans {
                resource: Some(resource(FUNCTIONS[*function], "aws", "512")),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span.clone()],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            })
            .collect(),
    };
    let answer: ExportTraceServiceResponse = post(app, "/v1/traces", &spans).await?;
    let rejected_spans = answer
        .partial_success
        .map_or(0, |partial| partial.rejected_spans);
    let points = batch.metrics.len() as i64 - rejected_points;
    let spans = batch.spans.len() as i64 - rejected_spans;
    Ok((points.max(0) as u64, spans.max(0) as u64))
}

/// Every functions and chains read answers without a server error.
async fn read_everything(app: &TestApp, batch: &Batch) -> anyhow::Result<()> {
    let mut paths = vec![
        "/api/v1/functions".to_owned(),
        "/api/v1/functions?from=now-2h&step=1m".to_owned(),
        "/api/v1/chains/broken".to_owned(),
        "/functions".to_owned(),
        "/".to_owned(),
    ];
    for function in FUNCTIONS {
        let name: String = function
            .bytes()
            .map(|byte| match byte {
                b'a'..=b'z' => (byte as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect();
        paths.push(format!("/api/v1/functions/{name}/timeseries?step=5m"));
        paths.push(format!("/api/v1/coldstarts?function={name}"));
        paths.push(format!("/functions/{name}"));
    }
    for (_, span) in batch.spans.iter().take(3) {
        let trace = hex::encode(&span.trace_id);
        paths.push(format!("/api/v1/chains/{trace}"));
        paths.push(format!("/api/v1/traces/{trace}"));
    }
    for path in paths {
        let (status, body) = app.get_text(&path).await?;
        anyhow::ensure!(
            status == 200 || status == 404,
            "{path} answered {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    Ok(())
}

#[test]
fn random_stored_points_and_spans_never_break_a_read() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let app = runtime.block_on(TestApp::start())?;
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let stored = std::cell::Cell::new((0u64, 0u64));
    let outcome = runner.run(&batch_strategy(), |batch| {
        runtime
            .block_on(async {
                let (points, spans) = send(&app, &batch).await?;
                let (all_points, all_spans) = stored.get();
                stored.set((all_points + points, all_spans + spans));
                app.wait_for_rows(
                    "SELECT count() AS count FROM metric_points",
                    all_points + points,
                )
                .await?;
                app.wait_for_rows("SELECT count() AS count FROM spans", all_spans + spans)
                    .await?;
                read_everything(&app, &batch).await
            })
            .map_err(|error| TestCaseError::fail(format!("{error:#}")))
    });
    runtime.block_on(app.stop())?;
    outcome.map_err(|error| anyhow::anyhow!("{error}"))
}
