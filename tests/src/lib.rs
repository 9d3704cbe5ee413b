//! Test support: a throwaway ClickHouse server per test binary, and a
//! Tracehouse per test with its own database, listening on free ports.
//!
//! The server runs in a temporary directory under the system temp dir,
//! named after the test process. It is stopped when the test process exits
//! (the kernel signals it when its supervisor thread dies), and directories
//! left by earlier, finished runs are removed when the next one starts.

pub mod chaos;
pub mod otlp_json;

use anyhow::Context;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;
use tracehouse::{Config, Running, Timings};
use tracehouse_schema::{ClickHouseSettings, ManagedClickHouse, ManagedOptions};

static CLICKHOUSE: OnceCell<ManagedClickHouse> = OnceCell::const_new();
static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

const TEST_DIR_PREFIX: &str = "tracehouse-test-";

/// The ClickHouse server shared by the tests of this binary.
pub async fn clickhouse() -> anyhow::Result<&'static ManagedClickHouse> {
    CLICKHOUSE
        .get_or_try_init(|| async {
            remove_stale_test_dirs();
            let directory =
                std::env::temp_dir().join(format!("{TEST_DIR_PREFIX}{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&directory);
            ManagedClickHouse::start(ManagedOptions::in_directory(directory))
                .await
                .context("starting the test clickhouse server")
        })
        .await
}

/// Removes temp dirs of test processes that no longer run.
fn remove_stale_test_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(TEST_DIR_PREFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh database on the shared server, unique in this process.
pub async fn fresh_database() -> anyhow::Result<ClickHouseSettings> {
    let server = clickhouse().await?;
    let number = DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let settings = server.settings(&format!("test_{}_{number}", std::process::id()));
    settings.ensure_database().await?;
    Ok(settings)
}

/// Drops a database made by [`fresh_database`].
pub async fn drop_database(settings: &ClickHouseSettings) -> anyhow::Result<()> {
    settings
        .server_client()
        .query("DROP DATABASE IF EXISTS ?")
        .bind(clickhouse::sql::Identifier(&settings.database))
        .execute()
        .await?;
    Ok(())
}

/// A running Tracehouse on the shared server, in its own database.
pub struct TestApp {
    pub running: Option<Running>,
    pub clickhouse: ClickHouseSettings,
    pub http: reqwest::Client,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts Tracehouse with test-friendly defaults (free ports, 100 ms batches).
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts Tracehouse after `adjust` has changed the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::start_with_timings(adjust, Timings::default()).await
    }

    /// [`TestApp::start_with`] with other intervals and timeouts (a short
    /// retention interval, a short drain timeout).
    pub async fn start_with_timings(
        adjust: impl FnOnce(&mut Config),
        timings: Timings,
    ) -> anyhow::Result<Self> {
        let clickhouse = fresh_database().await?;
        let data_dir = tempfile::tempdir()?;
        let mut config = Config {
            data_dir: data_dir.path().to_owned(),
            clickhouse_url: Some(clickhouse.url.clone()),
            clickhouse_user: clickhouse.user.clone(),
            clickhouse_password: clickhouse.password.clone().into(),
            clickhouse_database: clickhouse.database.clone(),
            otlp_grpc_addr: "127.0.0.1:0".parse()?,
            otlp_http_addr: "127.0.0.1:0".parse()?,
            http_addr: "127.0.0.1:0".parse()?,
            batch_max_age: Duration::from_millis(100).into(),
            ..Config::default()
        };
        adjust(&mut config);
        let running = tracehouse::serve_with_timings(config, timings).await?;
        Ok(Self {
            running: Some(running),
            clickhouse,
            http: reqwest::Client::new(),
            _data_dir: data_dir,
        })
    }

    fn running(&self) -> &Running {
        self.running
            .as_ref()
            .expect("the app is running until stop()")
    }

    /// `https` when the listeners serve TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.running().serves_tls {
            "https"
        } else {
            "http"
        }
    }

    /// `http://host:port` (or `https://`) of the query API.
    pub fn http_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.running().addresses.http)
    }

    /// `http://host:port` (or `https://`) of OTLP/gRPC.
    pub fn otlp_grpc_url(&self) -> String {
        format!(
            "{}://{}",
            self.scheme(),
            self.running()
                .addresses
                .otlp_grpc
                .expect("collector role runs")
        )
    }

    /// `http://host:port` (or `https://`) of OTLP/HTTP.
    pub fn otlp_http_url(&self) -> String {
        format!(
            "{}://{}",
            self.scheme(),
            self.running()
                .addresses
                .otlp_http
                .expect("collector role runs")
        )
    }

    /// A clickhouse client on this test's database.
    pub fn clickhouse_client(&self) -> clickhouse::Client {
        self.clickhouse.client().expect("valid database name")
    }

    /// The `count` column of the first row of `sql` (0 without rows).
    pub async fn count_rows(&self, sql: &str) -> anyhow::Result<u64> {
        #[derive(clickhouse::Row, serde::Deserialize)]
        struct Count {
            count: u64,
        }
        let rows: Vec<Count> = self.clickhouse_client().query(sql).fetch_all().await?;
        Ok(rows.first().map_or(0, |row| row.count))
    }

    /// Polls [`Self::count_rows`] until it reaches `expected` (20 s at most).
    pub async fn wait_for_rows(&self, sql: &str, expected: u64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let count = self.count_rows(sql).await?;
            if count >= expected {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{sql}: {count} of {expected} rows after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Exports one span (`trace_id` in hex, span `name`, starting now) as
    /// OTLP/HTTP JSON through this app's HTTP client; returns the status.
    pub async fn export_one_span(&self, trace_id: &str, name: &str) -> anyhow::Result<u16> {
        let start = now_unix_nanos();
        let body = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": name,
            "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1000).to_string()
        }]}]}]});
        let response = self
            .http
            .post(format!("{}/v1/traces", self.otlp_http_url()))
            .json(&body)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    /// GET a path of the query API; returns status and JSON body.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(format!("{}{path}", self.http_url()))
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response
            .json::<Value>()
            .await
            .context("response is not JSON")?;
        Ok((status, body))
    }

    /// GET a page: status, its Content-Security-Policy header and body.
    pub async fn get_page(&self, path: &str) -> anyhow::Result<(u16, String, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.http_url()))
            .send()
            .await?;
        let status = response.status().as_u16();
        let policy = response
            .headers()
            .get("content-security-policy")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok((status, policy, response.text().await?))
    }

    /// GET a path of the query API as text.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.http_url()))
            .send()
            .await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// Polls `GET /api/v1/traces/{id}` until it has `span_count` spans.
    pub async fn wait_for_trace(&self, trace_id: &str, span_count: usize) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get_json(&format!("/api/v1/traces/{trace_id}")).await?;
            let found = body["spans"].as_array().map_or(0, Vec::len);
            if status == 200 && found >= span_count {
                return Ok(body);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("trace {trace_id} has {found} of {span_count} spans after 20 s (status {status}): {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `GET path` until `ready` holds for its JSON body (status 200),
    /// for answers that depend on several writers (spans, metrics, logs).
    pub async fn wait_for_json(
        &self,
        path: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get_json(path).await?;
            if status == 200 && ready(&body) {
                return Ok(body);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("{path} not as expected after 20 s (status {status}): {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls a metric sample until it reaches `at_least` (20 s at most) and
    /// returns its value then. For counters bumped after the fact, such as
    /// `tracehouse_writer_rows_written_total`, which the writer increments
    /// only once the insert has returned, after the rows became readable.
    pub async fn wait_for_metric(&self, sample: &str, at_least: f64) -> anyhow::Result<f64> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.metric(sample).await?;
            if value >= at_least || tokio::time::Instant::now() > deadline {
                return Ok(value);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of a metric sample line in `/metrics`, e.g.
    /// `tracehouse_accepted_items_total{signal="traces"}`; 0 when absent.
    pub async fn metric(&self, sample: &str) -> anyhow::Result<f64> {
        let (_, text) = self.get_text("/metrics").await?;
        Ok(metric_value(&text, sample).unwrap_or(0.0))
    }

    /// Starts a further Tracehouse with `config` on the database of
    /// `clickhouse` (another process of the same deployment).
    pub async fn start_on_database(
        clickhouse: ClickHouseSettings,
        config: Config,
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let config = Config {
            data_dir: data_dir.path().to_owned(),
            ..config
        };
        let running = tracehouse::serve(config).await?;
        Ok(Self {
            running: Some(running),
            clickhouse,
            http: reqwest::Client::new(),
            _data_dir: data_dir,
        })
    }

    /// Shuts Tracehouse down (writing what it accepted); the database stays
    /// for the other processes on it.
    pub async fn stop_keeping_database(mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(running) => Ok(running.shutdown().await?),
            None => Ok(()),
        }
    }

    /// Shuts Tracehouse down (writing what it accepted) and drops the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        drop_database(&self.clickhouse).await
    }
}

/// Finds `sample` (name with labels, exactly as printed) in Prometheus text.
pub fn metric_value(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(sample)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

impl TestApp {
    /// Starts Tracehouse against `clickhouse_url` (e.g. a [`chaos::ChaosProxy`])
    /// in a fresh database of the shared server.
    pub async fn start_via(
        clickhouse_url: String,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let mut app = Self::start_with(|config| {
            config.clickhouse_url = Some(clickhouse_url.clone());
            adjust(config);
        })
        .await?;
        // Tests reach ClickHouse directly, not through the proxy.
        app.clickhouse.url = clickhouse().await?.url();
        Ok(app)
    }
}

/// Now, in Unix nanoseconds.
pub fn now_unix_nanos() -> u64 {
    tracehouse_model::time::now_unix_nano()
}
