//! Alert test support: a real HTTP webhook receiver that records what
//! arrives and answers as told, Tracehouse started with an `[alerts]`
//! section (and restartable on the same database), and invocations sent
//! with the real OpenTelemetry SDK.

#![allow(dead_code)]

use crate::support::{end, Function, Step};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use opentelemetry::trace::SpanKind;
use opentelemetry::Context;
use serde_json::Value;
use sha2::Sha256;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;
use tracehouse::Config;
use tracehouse_tests::TestApp;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Checks the signature as docs/alerts.md tells receivers to: HMAC-SHA256
    /// of the raw body, compared in constant time, and a recent timestamp.
    pub fn signature_verifies(&self, secret: &str) -> bool {
        let Some(hex_digest) = self
            .header("X-Tracehouse-Signature")
            .strip_prefix("sha256=")
            .map(str::to_owned)
        else {
            return false;
        };
        let Ok(expected) = hex::decode(hex_digest) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(&self.body);
        let timestamp: u64 = self.header("X-Tracehouse-Timestamp").parse().unwrap_or(0);
        let now = tracehouse_model::time::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        mac.verify_slice(&expected).is_ok() && now.abs_diff(timestamp) <= 300
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 once empty.
    script: VecDeque<u16>,
}

/// A webhook receiver on a loopback port.
pub struct Receiver {
    pub address: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    stop: Option<oneshot::Sender<()>>,
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let mut state = state.lock().expect("receiver state");
    let answered = state.script.pop_front().unwrap_or(200);
    state.received.push(Received {
        headers,
        body: body.to_vec(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap_or(StatusCode::OK)
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?).await
    }

    /// Starts a receiver on `address` (to come back on the same port).
    pub async fn start_on(address: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            address,
            state,
            stop: Some(stop),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// Answers these statuses to the next requests, then 200.
    pub fn answer(&self, statuses: &[u16]) {
        self.state.lock().expect("state").script.extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    /// Requests whose JSON body has `status` (tracehouse format).
    pub fn with_status(&self, status: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|request| request.json()["status"] == status)
            .collect()
    }

    /// Waits until `ready` holds for what arrived.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&[Received]) -> bool,
    ) -> anyhow::Result<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if ready(&received) {
                return Ok(received);
            }
            if tokio::time::Instant::now() > deadline {
                let bodies: Vec<String> = received
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                    .collect();
                anyhow::bail!("receiver: {what} not seen after {timeout:?}; got {bodies:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops listening (the port refuses connections).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Tracehouse with alerts, restartable on the same database.
pub struct AlertApp {
    pub app: TestApp,
    /// The configuration it runs with (ports of 0 are picked again on restart).
    pub config: Config,
    pub config_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl AlertApp {
    /// Starts Tracehouse with `alerts_toml` as the config file's content.
    pub async fn start(alerts_toml: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config_path = dir.path().join("tracehouse.toml");
        std::fs::write(&config_path, alerts_toml)?;
        let from_file = Config::from_file(&config_path)?;
        let mut used = None;
        let app = TestApp::start_with(|config| {
            config.alerts = from_file.alerts;
            config.config_file = Some(config_path.clone());
            used = Some(config.clone());
        })
        .await?;
        Ok(Self {
            app,
            config: used.ok_or_else(|| anyhow::anyhow!("configuration not captured"))?,
            config_path,
            _dir: dir,
        })
    }

    pub fn http_url(&self) -> String {
        self.app.http_url()
    }

    pub fn otlp_grpc_url(&self) -> String {
        self.app.otlp_grpc_url()
    }

    /// Stops Tracehouse and starts it again on the same database and file.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.app.running.take() {
            running.shutdown().await?;
        }
        self.app.running = Some(tracehouse::serve(self.config.clone()).await?);
        Ok(())
    }

    /// GET a JSON path that must answer 2xx.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.app.get_json(path).await?;
        anyhow::ensure!((200..300).contains(&status), "GET {path}: {status} {body}");
        Ok(body)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .app
            .http
            .post(format!("{}{path}", self.http_url()))
            .json(body)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.json().await?))
    }

    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        Ok(self.app.get_text(path).await?.1)
    }

    /// Delivery attempts as `GET /api/v1/alerts/deliveries` lists them.
    pub async fn deliveries(&self) -> anyhow::Result<Vec<Value>> {
        let body = self
            .get_json("/api/v1/alerts/deliveries?limit=1000")
            .await?;
        Ok(body["deliveries"].as_array().cloned().unwrap_or_default())
    }

    /// Stops Tracehouse and drops the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.app.stop().await
    }
}

/// Sends `count` invocations of `function` (AWS Lambda, 128 MiB) lasting
/// `duration` each, failed when `failing`; returns their trace ids.
pub async fn invoke(
    otlp_grpc_url: &str,
    function: &str,
    count: usize,
    duration: Duration,
    failing: bool,
) -> anyhow::Result<Vec<String>> {
    let sdk = Function::new(otlp_grpc_url, function)?;
    let mut trace_ids = Vec::new();
    let start = tracehouse_model::time::now() - duration;
    for _ in 0..count {
        let root = Context::new();
        let span = sdk.start(Step::new("handle", SpanKind::Server, &root, start));
        trace_ids.push(crate::support::trace_hex(&span));
        end(&span, start + duration, failing.then_some("boom"));
    }
    sdk.shutdown().await?;
    Ok(trace_ids)
}

/// A receiver block and a rule block of TOML.
pub fn receiver_toml(name: &str, url: &str, extra: &str) -> String {
    format!("[[alerts.receivers]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
}
