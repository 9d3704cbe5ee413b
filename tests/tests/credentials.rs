//! ClickHouse credentials stay out of everything Tracehouse shows: every
//! log line (at debug level, this process's whole output), pages, API
//! answers, error pages while ClickHouse fails, `/metrics`, and the
//! `Debug` of its configuration. The password is the managed test server's
//! random one, so any occurrence is a leak.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracehouse_model::access::{ApiTokenEntry, AuthSettings, SecretHash};
use tracehouse_tests::TestApp;

const API_TOKEN: &str = "credentials-api-token";

/// Everything logged by this test process.
fn logged() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .init();
        logs
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PATHS: [&str; 14] = [
    "/",
    "/functions",
    "/functions/charge",
    "/traces",
    "/traces/d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
    "/traces/not-hex",
    "/map",
    "/alerts",
    "/dashboards",
    "/no/such/page",
    "/api/v1/functions",
    "/api/v1/traces?service=x",
    "/readyz",
    "/metrics",
];

/// Every path's status, headers and body, as one text.
async fn everything_shown(app: &TestApp) -> anyhow::Result<String> {
    let mut shown = String::new();
    for path in PATHS {
        let response = app
            .http
            .get(format!("{}{path}", app.http_url()))
            .bearer_auth(API_TOKEN)
            .send()
            .await?;
        shown.push_str(&format!(
            "{path} {} {:?}\n",
            response.status(),
            response.headers()
        ));
        shown.push_str(&response.text().await?);
    }
    Ok(shown)
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_credentials_appear_nowhere() -> anyhow::Result<()> {
    let logs = logged();
    let app = TestApp::start_with(|config| {
        config.auth = Some(AuthSettings {
            api_tokens: vec![ApiTokenEntry {
                name: "reader".to_owned(),
                projects: vec!["default".to_owned()],
                token_sha256: SecretHash::of(API_TOKEN).to_hex(),
            }],
            ..AuthSettings::default()
        });
    })
    .await?;
    let password = app.clickhouse.password.clone();
    assert!(password.len() >= 16, "the test server's password is random");

    assert_eq!(app.export_one_span(&"d4".repeat(16), "handler").await?, 200);
    app.wait_for_rows(
        "SELECT count() AS count FROM spans WHERE trace_id = unhex('d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4')",
        1,
    )
    .await?;
    let mut shown = everything_shown(&app).await?;

    // ClickHouse failing under every read: error pages and answers, and the logs of it.
    app.clickhouse
        .server_client()
        .query("DROP DATABASE IF EXISTS ?")
        .bind(clickhouse::sql::Identifier(&app.clickhouse.database))
        .execute()
        .await?;
    let failing = everything_shown(&app).await?;
    assert!(
        failing.contains(" 503 ") || failing.contains(" 500 "),
        "reads did fail"
    );
    shown.push_str(&failing);
    let running = app.running.as_ref().expect("running");
    shown.push_str(&format!("{:?}", running.clickhouse));
    app.stop().await?;

    let logs = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(logs.contains("schema is up to date"), "logs were captured");
    assert!(
        !shown.contains(&password),
        "the ClickHouse password was shown"
    );
    assert!(
        !logs.contains(&password),
        "the ClickHouse password was logged"
    );
    Ok(())
}
