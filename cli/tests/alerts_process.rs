//! The alerts promise, with the real binary: a rule in the config file, a
//! function that breaks, a receiver that is failing when Tracehouse is
//! killed with SIGKILL. After the restart the receiver gets the firing
//! notification (signed, with the delivery id of the failed attempts and
//! the failed trace as sample), then one resolved notification once the
//! function is fixed, and nothing twice. Rules reload on SIGHUP.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nix::sys::signal::{kill, Signal};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "process-secret";

#[derive(Default)]
struct Hook {
    /// (delivery id, body) of every request.
    requests: Mutex<Vec<(String, Value)>>,
    failing: AtomicBool,
}

async fn receive(
    State(hook): State<Arc<Hook>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signed =
        tracehouse_alerting::webhook::verify(SECRET, &body, &header("X-Tracehouse-Signature"));
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut requests) = hook.requests.lock() {
        requests.push((
            header("X-Tracehouse-Delivery"),
            json!({"signed": signed, "body": parsed}),
        ));
    }
    if hook.failing.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

impl Hook {
    /// Distinct delivery ids per notification status.
    fn deliveries(&self, status: &str) -> BTreeSet<String> {
        let requests = self.requests.lock().expect("requests");
        requests
            .iter()
            .filter(|(_, request)| request["body"]["status"] == status)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn all(&self) -> Vec<(String, Value)> {
        self.requests.lock().expect("requests").clone()
    }
}

async fn start_hook() -> anyhow::Result<(Arc<Hook>, String)> {
    let hook = Arc::new(Hook::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Arc::clone(&hook));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((hook, url))
}

mod process;

use process::{export_traces, pid_of, start_serve, Serve};

async fn start(working_dir: &Path) -> anyhow::Result<Serve> {
    let args = ["--config", "tracehouse.toml", "--batch-max-age-ms", "100"];
    start_serve(working_dir, &args).await
}

/// One invocation of `payments` on AWS Lambda, failed or not, over OTLP/HTTP JSON.
async fn invoke(
    http: &reqwest::Client,
    otlp_http: &str,
    trace_id: &str,
    failed: bool,
) -> anyhow::Result<()> {
    let now = tracehouse_model::time::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let string = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [string("service.name", "payments"), string("faas.name", "payments"),
                                    string("cloud.provider", "aws"), string("cloud.platform", "aws_lambda")]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "charge", "kind": 2,
            "startTimeUnixNano": (now - 5_000_000).to_string(), "endTimeUnixNano": now.to_string(),
            "status": {"code": if failed { 2 } else { 1 }}}]}]}]});
    export_traces(http, otlp_http, &body).await
}

async fn wait_until(what: &str, seconds: u64, condition: impl Fn() -> bool) -> anyhow::Result<()> {
    for _ in 0..seconds * 10 {
        if condition() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting until {what}")
}

fn config(hook_url: &str, extra_rule: &str) -> String {
    format!(
        "[alerts]\ninterval = \"250ms\"\n\
         [[alerts.receivers]]\nname = \"ops\"\nurl = \"{hook_url}\"\nsecret = \"{SECRET}\"\ntimeout = \"2s\"\n\
         [[alerts.rules]]\nname = \"payments failing\"\nsignal = \"errors\"\nfunction = \"payments\"\n\
         op = \">\"\nthreshold = 0\nwindow = \"4s\"\nseverity = \"critical\"\nreceivers = [\"ops\"]\n{extra_rule}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_firing_and_one_resolved_across_a_sigkill() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let (hook, hook_url) = start_hook().await?;
    hook.failing.store(true, Ordering::SeqCst);
    std::fs::write(
        directory.path().join("tracehouse.toml"),
        config(&hook_url, ""),
    )?;
    let http = reqwest::Client::new();

    let first = start(directory.path()).await?;
    let failed_trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    invoke(&http, &first.urls["otlp-http"], failed_trace, true).await?;
    wait_until("a failed delivery attempt", 30, || {
        !hook.deliveries("firing").is_empty()
    })
    .await?;
    let delivery_id = hook
        .deliveries("firing")
        .into_iter()
        .next()
        .expect("one id");

    // Killed while the receiver still fails: nothing runs at exit.
    kill(pid_of(&first.child), Signal::SIGKILL)?;
    let mut first = first;
    first.child.wait().await?;
    hook.failing.store(false, Ordering::SeqCst);

    let mut second = start(directory.path()).await?;
    wait_until("the resolved notification", 60, || {
        !hook.deliveries("resolved").is_empty()
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        hook.deliveries("firing"),
        BTreeSet::from([delivery_id.clone()]),
        "one firing, same id"
    );
    assert_eq!(hook.deliveries("resolved").len(), 1, "one resolved");
    let requests = hook.all();
    assert!(
        requests
            .iter()
            .all(|(_, request)| request["signed"] == true),
        "{requests:?}"
    );
    let firing = requests
        .iter()
        .find(|(_, request)| request["body"]["status"] == "firing")
        .map(|(_, request)| request["body"].clone())
        .expect("firing");
    assert_eq!(firing["sample_trace_ids"], json!([failed_trace]));
    assert_eq!(firing["rule"], "payments failing");

    // SIGHUP reloads the rules from the file.
    let rule = "[[alerts.rules]]\nname = \"payments slow\"\nsignal = \"p95_ms\"\nfunction = \"payments\"\n\
                op = \">\"\nthreshold = 10000\nwindow = \"1m\"\nreceivers = [\"ops\"]\n";
    std::fs::write(
        directory.path().join("tracehouse.toml"),
        config(&hook_url, rule),
    )?;
    kill(pid_of(&second.child), Signal::SIGHUP)?;
    let dashboard = second.urls["dashboard"].clone();
    let mut names = Vec::new();
    for _ in 0..100 {
        let alerts: Value = http
            .get(format!("{dashboard}/api/v1/alerts"))
            .send()
            .await?
            .json()
            .await?;
        names = alerts["snapshot"]["rules"]
            .as_array()
            .map(|rules| {
                rules
                    .iter()
                    .filter_map(|rule| rule["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if names.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, ["payments failing", "payments slow"]);

    kill(pid_of(&second.child), Signal::SIGTERM)?;
    let status = tokio::time::timeout(Duration::from_secs(60), second.child.wait()).await??;
    assert!(status.success(), "exit status {status}");
    Ok(())
}
