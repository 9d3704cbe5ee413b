//! Exactly one process evaluates alerts and settles invocations: the one
//! holding the alerts lease. Leases on a real ClickHouse (a live holder
//! keeps it, a silent one loses it after the expiry, a stopping one hands it
//! over at once), then two Tracehouse processes on one database: one
//! firing notification, not two, and the other takes over when the first
//! stops.

use crate::alerts_support;

use alerts_support::{invoke, receiver_toml, AlertApp, Receiver};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::watch;
use tracehouse_schema::lease::{Lease, LeaseOptions};
use tracehouse_tests::TestApp;

const OPTIONS: LeaseOptions = LeaseOptions {
    beat: Duration::from_millis(200),
    expiry: Duration::from_secs(2),
};

async fn migrated() -> anyhow::Result<(tracehouse_schema::ClickHouseSettings, clickhouse::Client)> {
    let settings = tracehouse_tests::fresh_database().await?;
    let client = settings.client()?;
    tracehouse_schema::apply_migrations(&client).await?;
    Ok((settings, client))
}

/// Beats `lease` until it holds; how long that took.
async fn beat_until_held(lease: &Lease, within: Duration) -> anyhow::Result<Duration> {
    let started = tokio::time::Instant::now();
    while !lease.beat().await? {
        anyhow::ensure!(started.elapsed() < within, "not held after {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_holder_keeps_the_lease_and_a_silent_one_loses_it_after_the_expiry(
) -> anyhow::Result<()> {
    let (settings, client) = migrated().await?;
    let first = Lease::new(client.clone(), "alerts", "first".to_owned(), OPTIONS);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = Lease::new(client.clone(), "alerts", "second".to_owned(), OPTIONS);
    assert!(first.beat().await?, "the only candidate holds the lease");
    assert!(!second.beat().await?, "a newcomer waits");
    assert!(first.beat().await?, "the holder keeps it while it beats");
    let other = Lease::new(client.clone(), "other", "second".to_owned(), OPTIONS);
    assert!(other.beat().await?, "leases of other names are apart");
    // The first stops beating: the second holds once its beat has expired.
    let took = beat_until_held(&second, Duration::from_secs(8)).await?;
    assert!(
        took >= Duration::from_millis(900),
        "taken over {took:?} after the holder's last beat, before it expired"
    );
    tracehouse_tests::drop_database(&settings).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_holder_hands_over_at_once_and_one_back_from_a_gap_waits() -> anyhow::Result<()>
{
    let (settings, client) = migrated().await?;
    let (stop_first, first_stops) = watch::channel(false);
    let (first_leads, mut first_leading) = watch::channel(false);
    let first = Lease::new(client.clone(), "alerts", "first".to_owned(), OPTIONS);
    let first_run = tokio::spawn(first.run(first_leads, first_stops));
    first_leading.wait_for(|leads| *leads).await?;

    let (_stop_second, second_stops) = watch::channel(false);
    let (second_leads, mut second_leading) = watch::channel(false);
    let second = Lease::new(client.clone(), "alerts", "second".to_owned(), OPTIONS);
    tokio::spawn(second.run(second_leads, second_stops));
    tokio::time::sleep(OPTIONS.beat * 3).await;
    assert!(*first_leading.borrow() && !*second_leading.borrow());

    let stopped = tokio::time::Instant::now();
    stop_first.send(true)?;
    first_run.await?;
    tokio::time::timeout(OPTIONS.expiry, second_leading.wait_for(|leads| *leads)).await??;
    assert!(
        stopped.elapsed() < OPTIONS.expiry,
        "handed over in {:?}, not at the expiry",
        stopped.elapsed()
    );

    // The first comes back under its old name: the second keeps the lease.
    let back = Lease::new(client.clone(), "alerts", "first".to_owned(), OPTIONS);
    for _ in 0..5 {
        assert!(!back.beat().await?, "one back from a gap took the lease");
        tokio::time::sleep(OPTIONS.beat).await;
    }
    assert!(*second_leading.borrow());
    tracehouse_tests::drop_database(&settings).await
}

/// `tracehouse_alerts_lease_held` of `app` once it is `want` (10 s at most).
async fn wait_for_lease_held(app: &TestApp, want: f64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let held = app.metric("tracehouse_alerts_lease_held").await?;
        if held == want {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "tracehouse_alerts_lease_held is {held}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_database_send_one_firing_and_the_second_takes_over(
) -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let config = format!(
        "[alerts]\ninterval = \"200ms\"\n{}\
         [[alerts.rules]]\nname = \"payments failing\"\nsignal = \"errors\"\nfunction = \"payments\"\n\
         op = \">\"\nthreshold = 0\nwindow = \"30s\"\nreceivers = [\"ops\"]\n",
        receiver_toml("ops", &receiver.url(), "")
    );
    let first = AlertApp::start(&config).await?;
    wait_for_lease_held(&first.app, 1.0).await?;
    let standby =
        TestApp::start_on_database(first.app.clickhouse.clone(), first.config.clone()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    wait_for_lease_held(&standby, 0.0).await?;
    wait_for_lease_held(&first.app, 1.0).await?;

    invoke(
        &first.otlp_grpc_url(),
        "payments",
        2,
        Duration::from_millis(5),
        true,
    )
    .await?;
    receiver
        .wait_for("a firing", Duration::from_secs(20), |got| {
            got.iter()
                .any(|request| request.json()["status"] == "firing")
        })
        .await?;
    // Many evaluations of both processes later, still one firing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.with_status("firing").len(), 1);
    // The standby answers from the stored states, not as an evaluator.
    let (status, standby_alerts) = standby.get_json("/api/v1/alerts").await?;
    assert_eq!(status, 200, "{standby_alerts}");
    assert_eq!(standby_alerts["evaluator"], false, "{standby_alerts}");
    let stored_states: Vec<&Value> = standby_alerts["groups"]
        .as_array()
        .map(|groups| groups.iter().map(|group| &group["last_state"]).collect())
        .unwrap_or_default();
    assert_eq!(stored_states, [&Value::from("firing")], "{standby_alerts}");
    let (status, _, page) = standby.get_page("/alerts").await?;
    assert_eq!(status, 200);
    assert!(page.contains("This process stands by"), "{page}");
    assert!(page.contains("firing"), "{page}");

    first.app.stop_keeping_database().await?;
    wait_for_lease_held(&standby, 1.0).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.with_status("firing").len(),
        1,
        "the new holder took the stored state and did not fire again"
    );
    standby.stop().await
}
