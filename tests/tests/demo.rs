//! The demo workload against a real Tracehouse, through OTLP/gRPC: what a
//! newcomer sees must be there after the history is sent.

use std::collections::BTreeSet;
use std::time::Duration;
use tracehouse_simulator::DemoOptions;
use tracehouse_tests::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_fills_every_view_a_newcomer_looks_at() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        let mut rules = tracehouse::demo::alert_rules().expect("the demo's rules parse");
        rules.insert("interval".to_owned(), toml::Value::String("1s".to_owned()));
        config.alerts = Some(rules);
    })
    .await?;
    let options = DemoOptions {
        rate_per_second: 2.0,
        duration: Some(Duration::ZERO),
        backfill: Duration::from_secs(40 * 60),
        seed: 3,
        ingest_token: None,
    };
    let summary = tracehouse_simulator::run(&app.otlp_grpc_url(), &options).await?;
    assert!(summary.spans > 10_000, "{summary:?}");
    let written = r#"tracehouse_writer_rows_written_total{table="spans"}"#;
    for _ in 0..200 {
        if app.metric(written).await.unwrap_or(0.0) >= summary.spans as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, list) = app.get_json("/api/v1/functions?from=now-1h").await?;
    assert_eq!(status, 200, "{list}");
    let functions = list["functions"].as_array().cloned().unwrap_or_default();
    let field = |name: &str| -> BTreeSet<String> {
        functions
            .iter()
            .map(|function| function[name].to_string())
            .collect()
    };
    assert!(functions.len() >= 5, "{list}");
    assert!(
        field("provider").len() >= 3,
        "providers {:?}",
        field("provider")
    );
    assert!(
        field("arch").len() >= 2,
        "architectures {:?}",
        field("arch")
    );
    let total = |name: &str| -> u64 {
        functions
            .iter()
            .map(|f| f[name].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(total("cold_starts") > 0 && total("errors") > 0, "{list}");
    assert!(
        list["totals"]["cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
        "{list}"
    );

    let (_, failed) = app
        .get_json("/api/v1/traces?service=charge-payment&status=error&limit=50&from=now-1h")
        .await?;
    let trace_id = failed["traces"][0]["trace_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!trace_id.is_empty(), "a failed payment: {failed}");
    let (status, chain) = app.get_json(&format!("/api/v1/chains/{trace_id}")).await?;
    assert_eq!(status, 200, "{chain}");
    assert!(
        chain["trace_ids"].as_array().map_or(0, Vec::len) >= 2,
        "a chain over traces: {chain}"
    );

    let (_, broken) = app.get_json("/api/v1/chains/broken?from=now-1h").await?;
    assert!(
        !broken["broken"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .is_empty(),
        "{broken}"
    );

    // The demo's rule set: at least one rule fires on what the demo sent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, alerts) = app.get_json("/api/v1/alerts").await?;
        let rules = alerts["snapshot"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(rules.len(), 3, "every demo rule loads: {alerts}");
        let firing: Vec<&str> = rules
            .iter()
            .filter(|rule| rule["state"] == "firing")
            .filter_map(|rule| rule["name"].as_str())
            .collect();
        if firing.contains(&"payment errors") {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no demo alert fired: {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.stop().await
}
