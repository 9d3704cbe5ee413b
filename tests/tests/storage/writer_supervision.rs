//! `/readyz` shows every writer task's state (the supervisor that starts a
//! panicked writer again is unit-tested in `collector/src/supervise.rs`).

use tracehouse_tests::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn readyz_lists_every_writer_running() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (status, body) = app.get_json("/readyz").await?;
    assert_eq!(status, 200, "{body}");
    let writers = body["writers"].as_array().cloned().unwrap_or_default();
    let tables: Vec<&str> = writers
        .iter()
        .filter_map(|writer| writer["table"].as_str())
        .collect();
    for table in [
        "spans",
        "invocations",
        "logs",
        "metric_points",
        "platform_reports",
    ] {
        assert!(tables.contains(&table), "{table} missing: {body}");
    }
    for writer in &writers {
        assert_eq!(writer["running"], true, "{body}");
        assert_eq!(writer["restarts"], 0, "{body}");
    }
    app.stop().await
}
