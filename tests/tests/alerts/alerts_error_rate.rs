//! The whole story of an alert: a function's error rate crosses the
//! threshold and comes back. The webhook receives exactly one signed firing
//! notification whose sample traces are failed invocations that were sent,
//! and exactly one resolved notification; the API, history, page and
//! metrics tell the same story.

use crate::alerts_support;

use alerts_support::{invoke, receiver_toml, AlertApp, Receiver};
use serde_json::Value;
use std::time::Duration;

const SECRET: &str = "s3cret-key";

#[tokio::test(flavor = "multi_thread")]
async fn error_rate_fires_once_and_resolves_once() -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}\
         [[alerts.rules]]\nname = \"checkout errors\"\nsignal = \"error_rate\"\nfunction = \"checkout\"\n\
         op = \">\"\nthreshold = 0.5\nwindow = \"3s\"\nfor = \"0s\"\nno_data = \"ok\"\nseverity = \"critical\"\n\
         labels = {{ team = \"payments\" }}\nreceivers = [\"ops\"]\n",
        receiver_toml("ops", &receiver.url(), &format!("secret = \"{SECRET}\""))
    );
    let app = AlertApp::start(&config).await?;
    let failed = invoke(
        &app.otlp_grpc_url(),
        "checkout",
        4,
        Duration::from_millis(20),
        true,
    )
    .await?;

    let firing = receiver
        .wait_for("firing", Duration::from_secs(20), |got| !got.is_empty())
        .await?;
    let notification = firing[0].json();
    assert_eq!(notification["status"], "firing");
    assert_eq!(notification["version"], "1");
    assert_eq!(notification["rule"], "checkout errors");
    assert_eq!(notification["function"], "checkout");
    assert_eq!(notification["signal"], "error_rate");
    assert_eq!(notification["severity"], "critical");
    assert_eq!(notification["labels"]["team"], "payments");
    assert_eq!(notification["value"], 1.0);
    assert_eq!(notification["window"], "3s");
    assert!(
        firing[0].signature_verifies(SECRET),
        "signature must verify"
    );
    assert!(!firing[0].signature_verifies("wrong"));
    assert_eq!(firing[0].header("X-Tracehouse-Delivery").len(), 32);
    let samples: Vec<String> = notification["sample_trace_ids"]
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    assert!(!samples.is_empty(), "{notification}");
    for sample in &samples {
        assert!(
            failed.contains(sample),
            "{sample} is not a failed invocation we sent"
        );
    }
    let dashboard = notification["dashboard_url"].as_str().expect("url");
    assert!(
        dashboard.starts_with(&app.http_url())
            && dashboard.ends_with("/alerts?rule=checkout%20errors")
    );

    let alerts = app.get_json("/api/v1/alerts").await?;
    let rule = &alerts["snapshot"]["rules"][0];
    assert_eq!(rule["state"], "firing", "{alerts}");
    assert!(rule["last_evaluation"].is_string());
    assert_eq!(rule["groups"][0]["value"], 1.0);

    // The fix: successful invocations only, until the failures leave the window.
    let resolved = loop {
        invoke(
            &app.otlp_grpc_url(),
            "checkout",
            3,
            Duration::from_millis(20),
            false,
        )
        .await?;
        if let Some(resolved) = receiver.with_status("resolved").first().cloned() {
            break resolved;
        }
        anyhow::ensure!(receiver.received().len() < 10, "unexpected notifications");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(resolved.signature_verifies(SECRET));
    let body = resolved.json();
    matches_committed_schema(&body);
    assert!(body["resolved_at"].is_string(), "{body}");
    assert_eq!(body["started_at"], notification["started_at"]);
    assert_eq!(body["fingerprint"], notification["fingerprint"]);
    assert_ne!(
        resolved.header("X-Tracehouse-Delivery"),
        firing[0].header("X-Tracehouse-Delivery")
    );

    // Several more evaluations change nothing: one firing, one resolved.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.with_status("firing").len(), 1);
    assert_eq!(receiver.with_status("resolved").len(), 1);

    let history = app
        .get_json("/api/v1/alerts/history?rule=checkout%20errors")
        .await?;
    let changes: Vec<String> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|row| row["kind"] == "transition")
        .map(|row| {
            format!(
                "{}>{}",
                row["from_state"].as_str().unwrap_or(""),
                row["to_state"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(changes, ["firing>resolved", "ok>firing"], "{history}");
    let delivered = app
        .deliveries()
        .await?
        .into_iter()
        .filter(|row| row["outcome"] == "delivered")
        .count();
    assert_eq!(delivered, 2);
    let dom = rendered_dom(&format!("{}/alerts", app.http_url())).await?;
    let rule_row = dom
        .split("<tr")
        .find(|row| row.contains("checkout errors") && row.contains("state-"))
        .unwrap_or_default();
    assert!(rule_row.contains("class=\"state-resolved\""), "{dom}");
    assert!(rule_row.contains("<code>checkout</code>"), "{rule_row}");
    let history_table = dom.split("id=\"alert-history\"").nth(1).unwrap_or_default();
    let history_table = history_table.split("</table>").next().unwrap_or_default();
    assert!(
        history_table.contains("ok → firing") && history_table.contains("firing → resolved"),
        "{dom}"
    );
    assert!(
        dom.contains("id=\"alert-deliveries\"") && dom.contains(">delivered<"),
        "{dom}"
    );
    let metrics = app.get_text("/metrics").await?;
    assert!(
        metrics.contains("tracehouse_alert_evaluations_total{rule=\"checkout errors\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tracehouse_alert_deliveries_total{outcome=\"delivered\"} 2"),
        "{metrics}"
    );
    app.stop().await
}

/// The body has exactly the properties of docs/alert-webhook.schema.json,
/// with the types and enum values it gives.
fn matches_committed_schema(body: &Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/alert-webhook.schema.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("json");
    let object = body.as_object().expect("an object");
    let properties = schema["properties"].as_object().expect("properties");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required.len(), properties.len());
    for key in object.keys() {
        assert!(properties.contains_key(key), "{key} is not in the schema");
    }
    for key in required {
        let value = object.get(key).unwrap_or_else(|| panic!("{key} missing"));
        let rules = &properties[key];
        if let Some(allowed) = rules["enum"].as_array() {
            assert!(allowed.contains(value), "{key}: {value} not in {allowed:?}");
        }
        if let Some(constant) = rules.get("const") {
            assert_eq!(value, constant, "{key}");
        }
        let types: Vec<&str> = match &rules["type"] {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        assert!(types.contains(&actual), "{key}: {actual} is not {types:?}");
    }
}

/// The DOM of `url` as headless Chromium renders it.
async fn rendered_dom(url: &str) -> anyhow::Result<String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir()?;
        let binary = ["chromium", "chromium-browser"]
            .into_iter()
            .find(|name| {
                std::process::Command::new(name)
                    .arg("--version")
                    .output()
                    .is_ok()
            })
            .ok_or_else(|| anyhow::anyhow!("chromium is not installed"))?;
        let output = std::process::Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .args([
                "--disable-background-networking",
                "--disable-component-update",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", &url])
            .stdin(std::process::Stdio::null())
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?)
    })
    .await?
}
