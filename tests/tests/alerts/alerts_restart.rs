//! Restarts: the receiver is down while Tracehouse fires and restarts; it
//! still gets the firing notification afterwards, under the delivery id of
//! the failed attempts, and then exactly one resolved notification. State
//! survives the restart: no second firing.

use crate::alerts_support;

use alerts_support::{invoke, receiver_toml, AlertApp, Receiver};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_down_across_a_restart_still_gets_one_firing_and_one_resolved(
) -> anyhow::Result<()> {
    // Reserve a port, then take the receiver down.
    let receiver = Receiver::start().await?;
    let address = receiver.address;
    receiver.stop().await;
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}\
         [[alerts.rules]]\nname = \"payments failing\"\nsignal = \"errors\"\nfunction = \"payments\"\n\
         op = \">\"\nthreshold = 0\nwindow = \"4s\"\nreceivers = [\"ops\"]\n",
        receiver_toml(
            "ops",
            &format!("http://{address}/hook"),
            "secret = \"k\"\ntimeout = \"1s\""
        )
    );
    let mut app = AlertApp::start(&config).await?;
    let failed = invoke(
        &app.otlp_grpc_url(),
        "payments",
        2,
        Duration::from_millis(5),
        true,
    )
    .await?;

    // Wait until delivery has been tried (and failed) at least once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let failed_id = loop {
        let attempts = app.deliveries().await?;
        if let Some(row) = attempts.iter().find(|row| row["outcome"] == "retry") {
            break row["delivery_id"].as_str().unwrap_or("").to_owned();
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt: {attempts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    app.restart().await?;
    let receiver = Receiver::start_on(address).await?;
    let got = receiver
        .wait_for("firing and resolved", Duration::from_secs(30), |got| {
            let firing = got
                .iter()
                .any(|request| request.json()["status"] == "firing");
            let resolved = got
                .iter()
                .any(|request| request.json()["status"] == "resolved");
            firing && resolved
        })
        .await?;
    let firing = got
        .iter()
        .find(|request| request.json()["status"] == "firing")
        .expect("firing");
    assert_eq!(firing.header("X-Tracehouse-Delivery"), failed_id);
    assert!(firing.signature_verifies("k"));
    let samples = firing.json()["sample_trace_ids"].clone();
    let samples: Vec<&str> = samples
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(!samples.is_empty() && samples.iter().all(|id| failed.iter().any(|f| f == id)));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.with_status("firing").len(),
        1,
        "no second firing after the restart"
    );
    assert_eq!(receiver.with_status("resolved").len(), 1);
    let history = app.get_json("/api/v1/alerts/history").await?;
    let firings = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|row| row["to_state"] == "firing" && row["kind"] == "transition")
        .count();
    assert_eq!(firings, 1, "{history}");
    receiver.stop().await;
    app.stop().await
}
