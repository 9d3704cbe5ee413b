//! Cost rounding where it happens: durations are rounded per invocation in
//! SQL (the `effective_invocations` fragment) on a real ClickHouse, then priced; and
//! `pricing.region_multipliers` scales the cost of one region only. The
//! spans carry raw, unrounded durations; every figure is worked out by hand.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tracehouse_tests::otlp_json::{assert_close, attribute, listed_function, post};
use tracehouse_tests::{now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;

/// Entry spans of `function` lasting `durations_ms` (not rounded).
fn spans(
    function: &str,
    provider: &str,
    region: &str,
    memory_mb: i64,
    durations_ms: &[f64],
    base: u64,
) -> Value {
    let spans: Vec<Value> = durations_ms
        .iter()
        .enumerate()
        .map(|(index, duration_ms)| {
            let start = base + index as u64 * SECOND;
            let id = format!("{function}-{index}");
            json!({
                "traceId": format!("{:032x}", u128::from(fnv(&id))),
                "spanId": format!("{:016x}", fnv(&id)),
                "name": "handle",
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + (duration_ms * MS as f64).round() as u64).to_string(),
                "attributes": [attribute("faas.invocation_id", json!(id))],
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            attribute("service.name", json!(function)),
            attribute("cloud.provider", json!(provider)),
            attribute("cloud.region", json!(region)),
            attribute("faas.max_memory", json!(memory_mb)),
        ]},
        "scopeSpans": [{"spans": spans}],
    }]})
}

/// A stable non-zero 64-bit id from text (FNV-1a).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn durations_are_rounded_per_invocation_and_regions_scale_cost() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        config.pricing.region_multipliers =
            Some(BTreeMap::from([("europe-west3".to_owned(), 1.2)]));
    })
    .await?;
    let base = now_unix_nanos() - 10 * 60 * SECOND;
    let durations = [12.3, 150.2, 100.0];
    post(
        &app,
        "/v1/traces",
        &spans("az-fn", "azure", "westeurope", 200, &durations, base),
    )
    .await?;
    post(
        &app,
        "/v1/traces",
        &spans("gcp-fn", "gcp", "europe-west3", 256, &durations, base),
    )
    .await?;
    let listed = app
        .wait_for_json("/api/v1/functions?from=now-1h", |body| {
            ["az-fn", "gcp-fn"].iter().all(|name| {
                listed_function(body, name).is_some_and(|function| function["invocations"] == 3)
            })
        })
        .await?;

    // Azure: each invocation ceil to 1 ms, at least 100 ms: 12.3 → 100,
    // 150.2 → 151, 100.0 → 100; 351 ms. Memory 200 MB rounds up to 256 MB.
    // Unrounded (262.5 ms) or rounded once over the sum (263 ms) would differ.
    let azure = listed_function(&listed, "az-fn").expect("listed");
    let expected = 3.0 * 0.20e-6 + 0.351 * 256.0 / 1024.0 * 0.000016;
    assert_close(&azure["cost_usd"], expected, "azure cost");

    // Google Cloud: each invocation up to a multiple of 100 ms: 12.3 → 100,
    // 150.2 → 200, 100.0 → 100; 400 ms at 256 MB and the catalog's 0.167
    // vCPU for 256 MB, × 1.2 for europe-west3.
    let gcp = listed_function(&listed, "gcp-fn").expect("listed");
    let per_second = 0.25 * 0.0000025 + 0.167 * 0.000024;
    let expected = (3.0 * 0.40e-6 + 0.4 * per_second) * 1.2;
    assert_close(&gcp["cost_usd"], expected, "gcp cost");
    app.stop().await
}
