//! Today's AWS Lambda formats, end to end through a running Tracehouse and
//! a real ClickHouse: JSON `platform.report` events, SnapStart restores,
//! `Status: timeout` / `error` REPORT lines, and FaaS metrics exactly as the
//! OpenTelemetry Lambda layer's Telemetry API receiver emits them. Every
//! fixture is one of AWS's published examples (quoted with its page); every
//! expected figure is worked out by hand in the comments.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tracehouse_model::platform_report::aws_examples::{
    AWS_ERROR_LINE, AWS_JSON_REPORT, AWS_OLD_STYLE_LINE, AWS_TIMEOUT_LINE, SNAPSTART_LINE,
};
use tracehouse_tests::otlp_json::{
    any_value, assert_close, attribute, listed_function, post as post_json,
};
use tracehouse_tests::{now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
/// AWS Lambda x86_64 price per GB-second and per request (deploy/pricing.toml).
const X86_RATE: f64 = 0.0000166667;
const REQUEST_PRICE: f64 = 0.20e-6;

/// One invocation: its request id and what its span lasted (the REPORT's
/// Duration: the span covers the handler).
struct Invocation {
    request_id: &'static str,
    duration_ms: f64,
}

const INVOCATIONS: [Invocation; 5] = [
    Invocation {
        request_id: "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa",
        duration_ms: 693.92,
    },
    Invocation {
        request_id: "527cb862-4f5e-49a9-9ae4-a7edc90f0fda",
        duration_ms: 3016.78,
    },
    Invocation {
        request_id: "5b866fb1-7154-4af6-8078-6ef6ca4c2ddd",
        duration_ms: 133.61,
    },
    Invocation {
        request_id: "a1f7c2de-3b4a-4c5d-8e9f-0123456789ab",
        duration_ms: 133.61,
    },
    Invocation {
        request_id: "c3252230-c73d-49f6-8844-968c01d1e2e1",
        duration_ms: 933.59,
    },
];

/// Entry spans that say nothing of errors or cold starts (status unset, no
/// `faas.coldstart`, no instance): only the platform reports know.
fn spans_request(base: u64) -> Value {
    let spans: Vec<Value> = INVOCATIONS
        .iter()
        .enumerate()
        .map(|(index, invocation)| {
            let start = base + index as u64 * 10 * SECOND;
            let end = start + (invocation.duration_ms * MS as f64).round() as u64;
            json!({
                "traceId": format!("{:032x}", index + 1),
                "spanId": format!("{:016x}", index + 1),
                "name": "POST /checkout",
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": end.to_string(),
                "attributes": [attribute("faas.invocation_id", json!(invocation.request_id))],
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            attribute("service.name", json!("checkout")),
            attribute("faas.name", json!("checkout")),
            attribute("cloud.provider", json!("aws")),
            attribute("cloud.region", json!("eu-west-1")),
            attribute("host.arch", json!("x86_64")),
        ]},
        "scopeSpans": [{"spans": spans}],
    }]})
}

/// The reports as log records: the JSON event as a key/value body (a
/// pipeline that parsed it), the text lines as string bodies.
fn logs_request(base: u64) -> anyhow::Result<Value> {
    let json_event: Value = serde_json::from_str(AWS_JSON_REPORT)?;
    let bodies = [
        any_value(&json_event),
        json!({"stringValue": AWS_TIMEOUT_LINE}),
        json!({"stringValue": AWS_ERROR_LINE}),
        json!({"stringValue": SNAPSTART_LINE}),
        json!({"stringValue": AWS_OLD_STYLE_LINE}),
    ];
    let records: Vec<Value> = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            let time = base + index as u64 * 10 * SECOND + 4 * SECOND;
            json!({"timeUnixNano": time.to_string(), "body": body})
        })
        .collect();
    Ok(json!({"resourceLogs": [{
        "resource": {"attributes": [
            attribute("service.name", json!("checkout")),
            attribute("faas.name", json!("checkout")),
        ]},
        "scopeLogs": [{"logRecords": records}],
    }]}))
}

#[tokio::test(flavor = "multi_thread")]
async fn json_snapstart_and_failed_reports_are_counted_and_priced() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let base = now_unix_nanos() - 10 * 60 * SECOND;
    post_json(&app, "/v1/logs", &logs_request(base)?).await?;
    post_json(&app, "/v1/traces", &spans_request(base)).await?;

    // The platform's failures and cold starts show once the reports are
    // joined. The reports alone already count 5, 2 and 4 (their resource
    // names no provider, so they are unpriced): the answer is whole once the
    // spans are stored too and every invocation is priced.
    let listed = app
        .wait_for_json("/api/v1/functions?from=now-1h", |body| {
            listed_function(body, "checkout").is_some_and(|checkout| {
                checkout["invocations"] == 5
                    && checkout["errors"] == 2
                    && checkout["cold_starts"] == 4
                    && checkout["gb_seconds"].is_number()
            })
        })
        .await?;
    let checkout = listed_function(&listed, "checkout").expect("listed");
    assert_eq!(checkout["provider"], "aws");
    assert_eq!(checkout["memory_mb"], 128, "Memory Size of the reports");
    // Failed: the timeout and the error line; the old-style crash line says
    // nothing, so that invocation is not counted failed. 2 of 5.
    assert_close(&checkout["error_rate"], 0.4, "error rate");
    // Cold: three reports with Init Duration and the SnapStart restore; the
    // old-style line has neither. 4 of 5.
    assert_close(&checkout["cold_start_rate"], 0.8, "cold start rate");

    // Latency: the restored cold start waits for its restore,
    // 133.61 + 398.97 = 532.58 ms. Cold latencies, sorted: 133.61, 532.58,
    // 693.92, 3016.78; p50 at rank 0.5 × 3 = 1.5 is (532.58 + 693.92) / 2
    // = 613.25. The one warm invocation: 933.59.
    assert_close(&checkout["cold_p50_ms"], 613.25, "cold p50");
    assert_close(&checkout["warm_p50_ms"], 933.59, "warm p50");
    assert_close(&checkout["duration_ms"]["max"], 3016.78, "max");
    // Init durations of the on-demand cold starts: 80.00, 84.00, 397.68.
    assert_close(&checkout["init_duration_ms"]["p50"], 84.0, "init p50");

    // Cost, per invocation with its REPORT's Billed Duration: 694 + 3101 +
    // 214 + 314 (the restore's 180 billed ms inside, the 398.97 ms restore
    // not charged) + 934 = 5257 ms at 128 MB = 0.125 GB.
    let gb_seconds = 5.257 * 0.125;
    assert_close(&checkout["gb_seconds"], gb_seconds, "GB-s");
    let cost = 5.0 * REQUEST_PRICE + gb_seconds * X86_RATE;
    assert_close(&checkout["cost_usd"], cost, "cost");

    // The cold-start list carries the restore in the restored start's latency.
    let (status, cold) = app
        .get_json("/api/v1/coldstarts?function=checkout&from=now-1h")
        .await?;
    assert_eq!(status, 200, "{cold}");
    let listed_cold = cold["cold_starts"].as_array().expect("cold starts");
    assert_eq!(listed_cold.len(), 4);
    let restored = listed_cold
        .iter()
        .find(|start| start["span_id"] == format!("{:016x}", 4))
        .expect("the restored start is cold");
    assert_close(&restored["duration_ms"], 532.58, "restored latency");
    assert!(restored["init_duration_ms"].is_null(), "{restored}");
    app.stop().await
}

/// The OpenTelemetry Lambda layer's receiver
/// (`collector/receiver/telemetryapireceiver` of open-telemetry/opentelemetry-lambda):
/// seconds histograms with `DurationHistogramBounds`, `faas.mem_usage` in
/// bytes (MB × 1,000,000), counters without attributes, a resource with
/// `faas.invoked_provider`, `faas.invoked_region` and `faas.max_memory` from
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (a string of MB), no architecture.
const DURATION_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const MEMORY_BOUNDS_MIB: [f64; 13] = [
    16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 768.0, 1024.0, 2048.0, 3072.0, 4096.0, 6144.0, 8192.0,
];

/// What the receiver has recorded into one histogram so far.
#[derive(Default, Clone)]
struct Recorded {
    values: Vec<f64>,
}

impl Recorded {
    /// Its cumulative point, bucketed as Go's `sort.SearchFloat64s` does
    /// (the first bound not below the value).
    fn point(&self, bounds: &[f64], start: u64, time: u64) -> Value {
        let mut counts = vec![0u64; bounds.len() + 1];
        for value in &self.values {
            counts[bounds.partition_point(|bound| bound < value)] += 1;
        }
        json!({
            "startTimeUnixNano": start.to_string(),
            "timeUnixNano": time.to_string(),
            "count": self.values.len().to_string(),
            "sum": self.values.iter().sum::<f64>(),
            "bucketCounts": counts.iter().map(u64::to_string).collect::<Vec<_>>(),
            "explicitBounds": bounds,
        })
    }
}

fn histogram(name: &str, unit: &str, point: Value) -> Value {
    json!({"name": name, "unit": unit,
           "histogram": {"aggregationTemporality": 2, "dataPoints": [point]}})
}

fn counter(name: &str, unit: &str, value: u64, start: u64, time: u64) -> Value {
    json!({"name": name, "unit": unit, "sum": {
        "aggregationTemporality": 2, "isMonotonic": true,
        "dataPoints": [{"startTimeUnixNano": start.to_string(), "timeUnixNano": time.to_string(),
                        "asInt": value.to_string()}]}})
}

fn layer_request(metrics: Vec<Value>) -> Value {
    json!({"resourceMetrics": [{
        "resource": {"attributes": [
            attribute("faas.invoked_provider", json!("aws")),
            attribute("service.name", json!("layer-fn")),
            attribute("faas.name", json!("layer-fn")),
            attribute("faas.max_memory", json!("128")),
            attribute("faas.version", json!("$LATEST")),
            attribute("faas.invoked_region", json!("sa-east-1")),
        ]},
        "scopeMetrics": [{
            "scope": {"name": "github.com/open-telemetry/opentelemetry-lambda/collector/receiver/telemetryapi"},
            "metrics": metrics,
        }],
    }]})
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_layer_faas_metrics_are_counted_and_priced() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        // The layer says nothing of the architecture: configured, as the
        // docs tell users to.
        config.functions.insert(
            "layer-fn".to_owned(),
            tracehouse_query::pricing::FunctionOverride {
                arch: Some("x86_64".to_owned()),
                ..Default::default()
            },
        );
        config.pricing.region_multipliers = Some(BTreeMap::from([("sa-east-1".to_owned(), 1.5)]));
    })
    .await?;
    let start = now_unix_nanos() - 10 * 60 * SECOND;
    let (first_flush, second_flush) = (start + 60 * SECOND, start + 120 * SECOND);

    // First Telemetry API batch, AWS's examples from the telemetry schema
    // reference: platform.initStart (faas.coldstarts + 1), platform.initReport
    // with durationMs 125.33 (faas.init_duration 0.12533 s),
    // platform.runtimeDone success with durationMs 140.0 (faas.invocations + 1,
    // faas.invoke_duration 0.14 s), platform.report with maxMemoryUsedMB 84
    // (faas.mem_usage 84,000,000). One cumulative point per updated series.
    let mut invoke = Recorded::default();
    let mut memory = Recorded::default();
    let init = Recorded {
        values: vec![0.12533],
    };
    invoke.values.push(0.14);
    memory.values.push(84e6);
    let memory_bounds: Vec<f64> = MEMORY_BOUNDS_MIB
        .iter()
        .map(|mib| mib * 1048576.0)
        .collect();
    post_json(
        &app,
        "/v1/metrics",
        &layer_request(vec![
            counter("faas.coldstarts", "{coldstart}", 1, start, first_flush),
            histogram(
                "faas.init_duration",
                "s",
                init.point(&DURATION_BOUNDS, start, first_flush),
            ),
            histogram(
                "faas.mem_usage",
                "By",
                memory.point(&memory_bounds, start, first_flush),
            ),
            counter("faas.invocations", "{invocation}", 1, start, first_flush),
            histogram(
                "faas.invoke_duration",
                "s",
                invoke.point(&DURATION_BOUNDS, start, first_flush),
            ),
        ]),
    )
    .await?;
    // Second batch: platform.runtimeDone with status timeout and AWS's
    // RuntimeDoneMetrics example durationMs 200.0 (faas.timeouts + 1; the
    // layer does not count it in faas.invocations), then its report.
    invoke.values.push(0.2);
    memory.values.push(84e6);
    post_json(
        &app,
        "/v1/metrics",
        &layer_request(vec![
            counter("faas.timeouts", "{timeout}", 1, start, second_flush),
            histogram(
                "faas.mem_usage",
                "By",
                memory.point(&memory_bounds, start, second_flush),
            ),
            histogram(
                "faas.invoke_duration",
                "s",
                invoke.point(&DURATION_BOUNDS, start, second_flush),
            ),
        ]),
    )
    .await?;

    let listed = app
        .wait_for_json("/api/v1/functions?from=now-1h", |body| {
            listed_function(body, "layer-fn").is_some_and(|layer| layer["timeouts"] == 1)
        })
        .await?;
    let layer = listed_function(&listed, "layer-fn").expect("listed");
    assert_eq!(layer["source"], "metrics");
    // Two invocations: the invoke_duration count (faas.invocations alone,
    // successes only, would say 1).
    assert_eq!(layer["invocations"], 2);
    assert_eq!(layer["errors"], 0);
    assert_eq!(layer["cold_starts"], 1);
    assert_close(&layer["cold_start_rate"], 0.5, "cold start rate");
    assert_eq!(layer["provider"], "aws", "from faas.invoked_provider");
    assert_eq!(layer["region"], "sa-east-1", "from faas.invoked_region");
    assert_eq!(layer["memory_mb"], 128, "faas.max_memory \"128\" is MiB");
    // Both durations, 140 and 200 ms, are in the (100, 250] ms bucket: p50
    // at rank 1 of 2 is 100 + 150 × 1/2 = 175; average 340 / 2 = 170.
    assert_close(&layer["duration_ms"]["p50"], 175.0, "p50");
    assert_close(&layer["duration_ms"]["avg"], 170.0, "avg");
    // The one init, 125.33 ms, in the same bucket: p50 = 100 + 150 × 0.5.
    assert_close(&layer["init_duration_ms"]["p50"], 175.0, "init p50");
    // Priced from the histogram sum, 340 ms at 128 MB: 0.0425 GB-s; two
    // requests; × 1.5 for sa-east-1.
    let gb_seconds = 0.340 * 0.125;
    assert_close(&layer["gb_seconds"], gb_seconds, "GB-s");
    assert_close(
        &layer["cost_usd"],
        (2.0 * REQUEST_PRICE + gb_seconds * X86_RATE) * 1.5,
        "cost",
    );
    app.stop().await
}

/// The REPORT line as the OpenTelemetry Lambda collector extension writes it
/// with `log_report: true` (`createPlatformReportMessage` of its
/// `telemetryapireceiver`): `REPORT RequestId: %s`, then ` Duration: %.2f ms`,
/// ` Billed Duration: %.0f ms`, ` Memory Size: %.0f MB`, ` Max Memory Used:
/// %.0f MB`, ` Init Duration: %.2f ms` when there was one, and ` Status: %s`
/// unless the status is success; single spaces, not Lambda's tabs.
fn extension_report(
    request_id: &str,
    duration_ms: f64,
    billed_ms: f64,
    init_ms: Option<f64>,
    status: &str,
) -> String {
    let mut line = format!(
        "REPORT RequestId: {request_id} Duration: {duration_ms:.2} ms Billed Duration: {billed_ms:.0} ms Memory Size: 512 MB Max Memory Used: 91 MB"
    );
    if let Some(init) = init_ms {
        line.push_str(&format!(" Init Duration: {init:.2} ms"));
    }
    if status != "success" {
        line.push_str(&format!(" Status: {status}"));
    }
    line
}

/// The extension's log records: a `type` attribute naming the Telemetry API
/// event, `faas.invocation_id`, and the resource it builds from the Lambda
/// environment (`faas.invoked_provider`, `faas.max_memory` as a string of MB).
fn extension_logs_request(records: Vec<(u64, &str, String)>) -> Value {
    let records: Vec<Value> = records
        .into_iter()
        .map(|(time, request_id, body)| {
            json!({
                "timeUnixNano": time.to_string(),
                "severityNumber": 9,
                "severityText": "Info",
                "attributes": [
                    attribute("type", json!("platform.report")),
                    attribute("faas.invocation_id", json!(request_id)),
                ],
                "body": {"stringValue": body},
            })
        })
        .collect();
    json!({"resourceLogs": [{
        "resource": {"attributes": [
            attribute("faas.invoked_provider", json!("aws")),
            attribute("service.name", json!("extension-fn")),
            attribute("faas.name", json!("extension-fn")),
            attribute("faas.max_memory", json!("512")),
            attribute("faas.version", json!("$LATEST")),
            attribute("faas.invoked_region", json!("eu-west-1")),
        ]},
        "scopeLogs": [{
            "scope": {"name": "github.com/open-telemetry/opentelemetry-lambda/collector/receiver/telemetryapi"},
            "logRecords": records,
        }],
    }]})
}

#[tokio::test(flavor = "multi_thread")]
async fn platform_report_of_the_lambda_extension() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let base = now_unix_nanos() - 10 * 60 * SECOND;
    let (cold_id, timeout_id) = (
        "8f5e2e4a-0f9c-4d0e-9b1a-3c2d1e0f9a8b",
        "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
    );
    // A cold invocation of 102.25 ms (init 250.12 ms) and one that timed out
    // after 3000 ms; the spans themselves say nothing of either.
    let spans = json!({"resourceSpans": [{
        "resource": {"attributes": [
            attribute("service.name", json!("extension-fn")),
            attribute("faas.name", json!("extension-fn")),
            attribute("cloud.provider", json!("aws")),
            attribute("cloud.region", json!("eu-west-1")),
            attribute("host.arch", json!("x86_64")),
        ]},
        "scopeSpans": [{"spans": [
            {"traceId": format!("{:032x}", 0xe1), "spanId": format!("{:016x}", 0xe1), "name": "handler",
             "kind": 2, "startTimeUnixNano": base.to_string(),
             "endTimeUnixNano": (base + 102_250_000).to_string(),
             "attributes": [attribute("faas.invocation_id", json!(cold_id))]},
            {"traceId": format!("{:032x}", 0xe2), "spanId": format!("{:016x}", 0xe2), "name": "handler",
             "kind": 2, "startTimeUnixNano": (base + 60 * SECOND).to_string(),
             "endTimeUnixNano": (base + 63 * SECOND).to_string(),
             "attributes": [attribute("faas.invocation_id", json!(timeout_id))]},
        ]}],
    }]});
    post_json(&app, "/v1/traces", &spans).await?;
    let logs = extension_logs_request(vec![
        (
            base + SECOND,
            cold_id,
            extension_report(cold_id, 102.25, 103.0, Some(250.12), "success"),
        ),
        (
            base + 64 * SECOND,
            timeout_id,
            extension_report(timeout_id, 3000.0, 3000.0, None, "timeout"),
        ),
    ]);
    post_json(&app, "/v1/logs", &logs).await?;

    // Billed 103 + 3000 ms at 512 MB = 0.5 GB: 1.5515 GB-s.
    let gb_seconds = 3.103 * 0.5;
    // The spans' and the REPORT lines' rows are written by different
    // writers: wait until both reports are joined (their billed durations).
    let listed = app
        .wait_for_json("/api/v1/functions?from=now-1h", |body| {
            listed_function(body, "extension-fn").is_some_and(|function| {
                function["invocations"] == 2
                    && function["errors"] == 1
                    && function["cold_starts"] == 1
                    && function["gb_seconds"]
                        .as_f64()
                        .is_some_and(|value| (value - gb_seconds).abs() <= 1e-9)
            })
        })
        .await?;
    let function = listed_function(&listed, "extension-fn").expect("listed");
    assert_eq!(function["memory_mb"], 512, "Memory Size of the reports");
    assert_close(&function["init_duration_ms"]["p50"], 250.12, "init p50");
    assert_close(&function["gb_seconds"], gb_seconds, "GB-s");
    assert_close(
        &function["cost_usd"],
        2.0 * REQUEST_PRICE + gb_seconds * X86_RATE,
        "cost",
    );
    app.stop().await
}
