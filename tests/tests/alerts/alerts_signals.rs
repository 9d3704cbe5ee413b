//! Signals beyond errors: a budget rule fires from cost alone, and a
//! silent-function rule (`invocations < 1`) fires when traffic stops.

use crate::alerts_support;

use alerts_support::{invoke, receiver_toml, AlertApp, Receiver};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_rule_fires_from_cost_alone() -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    // 128 MiB on AWS x86_64 for 2 s each: 0.20e-6 + 2 * 0.125 * 0.0000166667 USD per invocation.
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}\
         [[alerts.rules]]\nname = \"render budget\"\nsignal = \"projected_monthly_cost_usd\"\n\
         group_by = \"function\"\nop = \">\"\nthreshold = 1\nwindow = \"1m\"\nreceivers = [\"ops\"]\n\
         [[alerts.rules]]\nname = \"render errors\"\nsignal = \"errors\"\ngroup_by = \"function\"\n\
         op = \">\"\nthreshold = 0\nwindow = \"1m\"\nreceivers = [\"ops\"]\n",
        receiver_toml("ops", &receiver.url(), "")
    );
    let app = AlertApp::start(&config).await?;
    invoke(
        &app.otlp_grpc_url(),
        "render",
        20,
        Duration::from_secs(2),
        false,
    )
    .await?;
    let got = receiver
        .wait_for("budget", Duration::from_secs(20), |got| !got.is_empty())
        .await?;
    let body = got[0].json();
    assert_eq!(body["rule"], "render budget");
    assert_eq!(body["signal"], "projected_monthly_cost_usd");
    assert_eq!(body["function"], "render");
    let value = body["value"].as_f64().expect("value");
    let per_invocation = 0.20e-6 + 2.0 * 0.125 * 0.0000166667;
    let cost = 20.0 * per_invocation;
    // Projected over a 1 minute window: cost / 60 s * seconds per month.
    let expected = cost / 60.0 * 2_629_746.0;
    assert!(
        (value - expected).abs() / expected < 0.01,
        "{value} vs {expected}"
    );
    let functions = app.get_json("/api/v1/functions?from=now-1h").await?;
    assert_eq!(
        functions["functions"][0]["errors"], 0,
        "cost alone, no errors"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(receiver
        .received()
        .iter()
        .all(|request| request.json()["rule"] == "render budget"));
    assert_eq!(receiver.received().len(), 1);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_function_fires_when_traffic_stops() -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let head = format!(
        "[alerts]\ninterval = \"200ms\"\n{}",
        receiver_toml("ops", &receiver.url(), "")
    );
    let app = AlertApp::start(&head).await?;
    let url = app.otlp_grpc_url();
    let traffic = tokio::spawn(async move {
        for _ in 0..12 {
            invoke(&url, "heartbeat", 1, Duration::from_millis(5), false).await?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::Ok(())
    });
    app.get_json("/api/v1/functions").await?;
    // Add the rule once traffic flows (a reload), and see it is ok first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let functions = app.get_json("/api/v1/functions?from=now-2s").await?;
        if functions["functions"][0]["invocations"]
            .as_u64()
            .unwrap_or(0)
            > 0
        {
            break;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no traffic seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rule = "[[alerts.rules]]\nname = \"heartbeat silent\"\nsignal = \"invocations\"\n\
                function = \"heartbeat\"\nop = \"<\"\nthreshold = 1\nwindow = \"2s\"\nreceivers = [\"ops\"]\n";
    std::fs::write(&app.config_path, format!("{head}{rule}"))?;
    let (status, body) = app.post_json("/api/v1/alerts/reload", &json!({})).await?;
    assert_eq!(status, 200, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = app.get_json("/api/v1/alerts").await?;
        let rule = &alerts["snapshot"]["rules"][0];
        if rule["last_evaluation"].is_string() {
            assert_eq!(rule["state"], "ok", "{alerts}");
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not evaluated: {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        receiver.received().is_empty(),
        "no alert while traffic flows"
    );

    traffic.await??;
    let stopped = std::time::Instant::now();
    let got = receiver
        .wait_for("silent", Duration::from_secs(20), |got| !got.is_empty())
        .await?;
    assert!(
        stopped.elapsed() >= Duration::from_millis(1000),
        "fired only once the window emptied"
    );
    let body = got[0].json();
    assert_eq!(body["rule"], "heartbeat silent");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["value"], 0.0);
    assert_eq!(got.len(), 1);
    app.stop().await
}
