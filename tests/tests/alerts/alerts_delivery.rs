//! Delivery: retries keep the delivery id, silences suppress sending but
//! are recorded, and an invalid rule is named while the others keep firing.

use crate::alerts_support;

use alerts_support::{invoke, receiver_toml, AlertApp, Receiver};
use serde_json::json;
use std::time::Duration;

/// A rule that fires as soon as `function` has an invocation.
fn busy_rule(name: &str, function: &str) -> String {
    format!(
        "[[alerts.rules]]\nname = \"{name}\"\nsignal = \"invocations\"\nfunction = \"{function}\"\n\
         op = \">\"\nthreshold = 0\nwindow = \"10s\"\nreceivers = [\"ops\"]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_receiver_gets_the_notification_with_the_same_delivery_id() -> anyhow::Result<()>
{
    let receiver = Receiver::start().await?;
    receiver.answer(&[503, 500]);
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}{}",
        receiver_toml("ops", &receiver.url(), ""),
        busy_rule("orders busy", "orders")
    );
    let app = AlertApp::start(&config).await?;
    invoke(
        &app.otlp_grpc_url(),
        "orders",
        1,
        Duration::from_millis(5),
        false,
    )
    .await?;
    let got = receiver
        .wait_for("three attempts", Duration::from_secs(20), |got| {
            got.len() >= 3
        })
        .await?;
    let answered: Vec<u16> = got.iter().map(|request| request.answered).collect();
    assert_eq!(answered, [503, 500, 200]);
    let ids: Vec<String> = got
        .iter()
        .map(|request| request.header("X-Tracehouse-Delivery"))
        .collect();
    assert!(
        ids.iter().all(|id| id == &ids[0] && !id.is_empty()),
        "{ids:?}"
    );
    assert_eq!(got[0].body, got[2].body, "retries send the same body");
    assert!(
        got[0].header("X-Tracehouse-Signature").is_empty(),
        "no secret, no signature"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 3, "nothing after the success");

    let attempts = app.deliveries().await?;
    let mut outcomes: Vec<(u64, String, u64)> = attempts
        .iter()
        .map(|row| {
            (
                row["attempt"].as_u64().unwrap_or(0),
                row["outcome"].as_str().unwrap_or("").to_owned(),
                row["http_status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (1, "retry".into(), 503),
            (2, "retry".into(), 500),
            (3, "delivered".into(), 200)
        ]
    );
    assert!(attempts
        .iter()
        .all(|row| row["delivery_id"] == ids[0].as_str()));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silence_suppresses_sending_and_is_recorded() -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}{}{}",
        receiver_toml("ops", &receiver.url(), ""),
        busy_rule("search busy", "search"),
        busy_rule("billing busy", "billing")
    );
    let app = AlertApp::start(&config).await?;
    let (status, body) = app
        .post_json(
            "/api/v1/alerts/silences",
            &json!({"rule": "search busy", "ends_at": "2099-01-01T00:00:00Z", "comment": "known"}),
        )
        .await?;
    assert_eq!(status, 400, "longer than a year: {body}");
    let ends_at = (chrono_like_now_plus_hours(1)).to_string();
    let (status, body) = app
        .post_json(
            "/api/v1/alerts/silences",
            &json!({"rule": "search busy", "ends_at": ends_at, "comment": "deploying search"}),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/alerts/silences",
            &json!({"ends_at": ends_at, "bogus": 1}),
        )
        .await?;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap_or("").contains("bogus"),
        "{body}"
    );
    let listed = app.get_json("/api/v1/alerts/silences").await?;
    assert_eq!(listed["silences"][0]["comment"], "deploying search");

    invoke(
        &app.otlp_grpc_url(),
        "search",
        1,
        Duration::from_millis(5),
        false,
    )
    .await?;
    invoke(
        &app.otlp_grpc_url(),
        "billing",
        1,
        Duration::from_millis(5),
        false,
    )
    .await?;
    // The unsilenced rule arrives; the silenced one is recorded, not sent.
    receiver
        .wait_for("billing", Duration::from_secs(20), |got| {
            got.iter()
                .any(|request| request.json()["rule"] == "billing busy")
        })
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let silenced = loop {
        let attempts = app.deliveries().await?;
        if let Some(row) = attempts.iter().find(|row| row["outcome"] == "silenced") {
            break row.clone();
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no silenced delivery: {attempts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(silenced["rule"], "search busy");
    assert_eq!(silenced["status"], "firing");
    assert!(receiver
        .received()
        .iter()
        .all(|request| request.json()["rule"] != "search busy"));
    let page = app.get_text("/alerts").await?;
    assert!(
        page.contains("deploying search") && page.contains("silenced"),
        "{page}"
    );
    app.stop().await
}

/// RFC 3339 of now plus `hours`, without a date library in the test.
fn chrono_like_now_plus_hours(hours: u64) -> String {
    let seconds = tracehouse_model::time::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + hours * 3600;
    tracehouse_alerting::ids::rfc3339(seconds * 1_000_000_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_rule_is_named_and_the_others_keep_firing() -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let invalid = "[[alerts.rules]]\nname = \"typo rule\"\nsignal = \"eror_rate\"\nop = \">\"\n\
                   threshold = 1\nwindow = \"1m\"\nreceivers = [\"ops\"]\n";
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}{invalid}{}",
        receiver_toml("ops", &receiver.url(), ""),
        busy_rule("cart busy", "cart")
    );
    let app = AlertApp::start(&config).await?;
    let alerts = app.get_json("/api/v1/alerts").await?;
    let problem = alerts["snapshot"]["problems"][0].clone();
    assert_eq!(problem["item"], "rule \"typo rule\"", "{alerts}");
    assert!(
        problem["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("signal:"),
        "{problem}"
    );
    assert_eq!(
        alerts["snapshot"]["rules"].as_array().map(Vec::len),
        Some(1)
    );

    invoke(
        &app.otlp_grpc_url(),
        "cart",
        1,
        Duration::from_millis(5),
        false,
    )
    .await?;
    receiver
        .wait_for("cart busy", Duration::from_secs(20), |got| {
            got.iter()
                .any(|request| request.json()["rule"] == "cart busy")
        })
        .await?;

    // A reload with a second bad rule reports it too; the valid rule stays.
    let with_bad_field = invalid
        .replace("typo rule", "bad field")
        .replace("eror_rate", "errors")
        + "thresold = 2\n";
    std::fs::write(&app.config_path, format!("{config}{with_bad_field}"))?;
    let (status, body) = app.post_json("/api/v1/alerts/reload", &json!({})).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rules"], 1);
    let messages: Vec<String> = body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|problem| format!("{} {}", problem["item"], problem["message"]))
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("typo rule")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("bad field") && m.contains("thresold")),
        "{messages:?}"
    );
    // A broken section changes nothing.
    std::fs::write(&app.config_path, "[alerts]\nintervall = \"1s\"\n")?;
    let (status, body) = app.post_json("/api/v1/alerts/reload", &json!({})).await?;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap_or("").contains("intervall"),
        "{body}"
    );
    let alerts = app.get_json("/api/v1/alerts").await?;
    assert_eq!(alerts["snapshot"]["rules"][0]["name"], "cart busy");
    assert_eq!(alerts["snapshot"]["rules"][0]["state"], "firing");

    // Removing a firing rule resolves its alert: no resolve is lost.
    std::fs::write(
        &app.config_path,
        format!(
            "[alerts]\ninterval = \"200ms\"\n{}",
            receiver_toml("ops", &receiver.url(), "")
        ),
    )?;
    let (status, body) = app.post_json("/api/v1/alerts/reload", &json!({})).await?;
    assert_eq!((status, body["rules"].clone()), (200, json!(0)), "{body}");
    let got = receiver
        .wait_for("resolved", Duration::from_secs(20), |got| {
            got.iter()
                .any(|request| request.json()["status"] == "resolved")
        })
        .await?;
    let resolved = got
        .iter()
        .find(|request| request.json()["status"] == "resolved")
        .expect("resolved")
        .json();
    assert_eq!(resolved["rule"], "cart busy");
    assert!(
        resolved["summary"]
            .as_str()
            .unwrap_or("")
            .contains("removed"),
        "{resolved}"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_receivers_get_version_4_and_firing_repeats_after_repeat_interval(
) -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\nrepeat_interval = \"1s\"\n{}{}",
        receiver_toml("ops", &receiver.url(), "format = \"alertmanager\""),
        busy_rule("queue busy", "queue")
    );
    let app = AlertApp::start(&config).await?;
    invoke(
        &app.otlp_grpc_url(),
        "queue",
        1,
        Duration::from_millis(5),
        false,
    )
    .await?;
    let got = receiver
        .wait_for("a repeat", Duration::from_secs(20), |got| got.len() >= 2)
        .await?;
    let first = got[0].json();
    assert_eq!(first["version"], "4");
    assert_eq!(first["status"], "firing");
    assert_eq!(first["receiver"], "ops");
    assert_eq!(first["alerts"][0]["labels"]["alertname"], "queue busy");
    assert_eq!(first["alerts"][0]["labels"]["function"], "queue");
    assert_eq!(first["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        got[1].json()["alerts"][0]["fingerprint"],
        first["alerts"][0]["fingerprint"]
    );
    assert_ne!(
        got[0].header("X-Tracehouse-Delivery"),
        got[1].header("X-Tracehouse-Delivery"),
        "a repeat is a new notification"
    );
    let history = app
        .get_json("/api/v1/alerts/history?rule=queue%20busy")
        .await?;
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|row| row["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"repeat") && kinds.contains(&"transition"),
        "{kinds:?}"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_without_the_alerts_role_reads_but_does_not_evaluate() -> anyhow::Result<()> {
    let app = tracehouse_tests::TestApp::start_with(|config| {
        config.roles = vec![tracehouse::Role::Collector, tracehouse::Role::Query];
    })
    .await?;
    let (status, body) = app.get_json("/api/v1/alerts").await?;
    assert_eq!(status, 200);
    assert_eq!(body["evaluator"], false);
    assert_eq!(body["groups"], json!([]));
    let response = app
        .http
        .post(format!("{}/api/v1/alerts/reload", app.http_url()))
        .send()
        .await?;
    assert_eq!(response.status(), 409);
    let (status, html) = app.get_text("/alerts").await?;
    assert_eq!(status, 200);
    assert!(
        html.contains("does not run the <code>alerts</code> role"),
        "{html}"
    );
    let metrics = app.get_text("/metrics").await?.1;
    assert!(!metrics.contains("tracehouse_alert_evaluations"));
    app.stop().await
}
