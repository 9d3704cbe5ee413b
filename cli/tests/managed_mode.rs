//! `tracehouse serve` in managed mode, run as a user would: as a process.
//! It starts its own ClickHouse, survives SIGKILL (a restart on the same
//! data directory works and keeps the data), stops ClickHouse on SIGTERM,
//! and says in one line what to do when no ClickHouse is installed.

// Test code: expect and the system clock are fine here.
#![allow(clippy::expect_used, clippy::disallowed_methods)]

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Serve {
    child: Child,
    urls: HashMap<String, String>,
}

/// Starts the binary in `working_dir` with the relative data directory
/// `data` (the default is relative too), and waits for its `listening` lines.
async fn start(working_dir: &Path) -> anyhow::Result<Serve> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args([
            "serve",
            "--http-addr",
            "127.0.0.1:0",
            "--otlp-grpc-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--otlp-http-addr",
            "127.0.0.1:0",
            "--batch-max-age-ms",
            "100",
            "--data-dir",
            "data",
        ])
        .current_dir(working_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut urls = HashMap::new();
    let read_all = async {
        while urls.len() < 4 {
            let Some(line) = lines.next_line().await? else {
                anyhow::bail!("tracehouse exited before listening");
            };
            let mut words = line.split_whitespace();
            if let (Some("listening"), Some(name), Some(url)) =
                (words.next(), words.next(), words.next())
            {
                urls.insert(name.to_owned(), url.trim_end_matches('/').to_owned());
            }
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(120), read_all).await??;
    Ok(Serve { child, urls })
}

fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(child.id().expect("running") as i32)
}

fn managed_server_pid(working_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(working_dir.join("data/clickhouse/clickhouse-server.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_running(pid: i32) -> bool {
    // A zombie still answers kill(0); look at its state instead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) -> anyhow::Result<()> {
    for _ in 0..300 {
        if condition() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting until {what}")
}

async fn send_span(http: &reqwest::Client, otlp_http: &str, trace_id: &str) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "job",
        "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 10).to_string()}]}]}]});
    let status = http
        .post(format!("{otlp_http}/v1/traces"))
        .json(&body)
        .send()
        .await?
        .status();
    anyhow::ensure!(status == 200, "export answered {status}");
    Ok(())
}

async fn trace_span_count(
    http: &reqwest::Client,
    dashboard: &str,
    trace_id: &str,
) -> anyhow::Result<usize> {
    let body: Value = http
        .get(format!("{dashboard}/api/v1/traces/{trace_id}"))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["spans"].as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_sigkill_and_stops_clickhouse_on_sigterm() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    let first = start(data_dir.path()).await?;
    let ready = http
        .get(format!("{}/readyz", first.urls["dashboard"]))
        .send()
        .await?;
    assert_eq!(ready.status(), 200);
    send_span(&http, &first.urls["otlp-http"], trace_id).await?;
    let dashboard = first.urls["dashboard"].clone();
    let mut stored = 0;
    for _ in 0..100 {
        stored = trace_span_count(&http, &dashboard, trace_id).await?;
        if stored == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 1, "span written before the kill");
    let first_server = managed_server_pid(data_dir.path()).expect("managed server pid file");

    // SIGKILL: no shutdown code runs, yet the managed server must not outlive us.
    kill(pid_of(&first.child), Signal::SIGKILL)?;
    wait_until("the orphaned clickhouse stopped", || {
        !is_running(first_server)
    })
    .await?;

    // A restart on the same data directory works and still has the data.
    let mut second = start(data_dir.path()).await?;
    assert_eq!(
        trace_span_count(&http, &second.urls["dashboard"], trace_id).await?,
        1
    );
    let second_server = managed_server_pid(data_dir.path()).expect("managed server pid file");
    assert!(is_running(second_server));

    // SIGTERM: a clean exit that takes the managed server down with it.
    kill(pid_of(&second.child), Signal::SIGTERM)?;
    let status = tokio::time::timeout(Duration::from_secs(60), second.child.wait()).await??;
    assert!(status.success(), "exit status {status}");
    assert!(
        !is_running(second_server),
        "managed clickhouse stopped with tracehouse"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_clickhouse_is_one_clear_line() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let output = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args([
            "serve",
            "--clickhouse-binary",
            "/nonexistent/clickhouse-server",
            "--data-dir",
        ])
        .arg(data_dir.path())
        .env("TRACEHOUSE_LOG", "off")
        .output()
        .await?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("apt-get install clickhouse-server"),
        "{stderr}"
    );
    assert!(stderr.contains("--clickhouse-url"), "{stderr}");
    Ok(())
}
