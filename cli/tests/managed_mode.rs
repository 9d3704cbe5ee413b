//! `tracehouse serve` in managed mode, run as a user would: as a process.
//! It starts its own ClickHouse, survives SIGKILL (a restart on the same
//! data directory works and keeps the data), stops ClickHouse on SIGTERM,
//! and says in one line what to do when no ClickHouse is installed. What
//! it acknowledged survives a SIGKILL before it was written to ClickHouse.

// Test code: expect and the system clock are fine here.
#![allow(clippy::expect_used, clippy::disallowed_methods)]

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

mod process;

use process::{export_traces, pid_of, start_serve, Serve};

/// Starts the binary in `working_dir` (see [`start_serve`]) with 100 ms batches.
async fn start(working_dir: &Path) -> anyhow::Result<Serve> {
    start_batching(working_dir, "100").await
}

/// [`start`], with batches written once their first row is `batch_max_age_ms` old.
async fn start_batching(working_dir: &Path, batch_max_age_ms: &str) -> anyhow::Result<Serve> {
    let batching = [
        "--batch-max-age-ms",
        batch_max_age_ms,
        "--batch-max-rows",
        "100000",
    ];
    start_serve(working_dir, &batching).await
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
    let now = tracehouse_model::time::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "job",
        "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 10).to_string()}]}]}]});
    export_traces(http, otlp_http, &body).await
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
    // A second Tracehouse on the same data directory exits at once, saying why.
    let second_on_same_dir = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args(["serve", "--data-dir", "data", "--http-addr", "127.0.0.1:0"])
        .current_dir(data_dir.path())
        .env("TRACEHOUSE_LOG", "off")
        .output()
        .await?;
    assert!(!second_on_same_dir.status.success());
    let stderr = String::from_utf8_lossy(&second_on_same_dir.stderr);
    assert!(stderr.contains("in use by another Tracehouse"), "{stderr}");
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

/// One OTLP/JSON request of `spans` spans of trace `trace_id`.
fn spans_request(trace_id: &str, spans: usize) -> Value {
    let now = tracehouse_model::time::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64;
    let spans: Vec<Value> = (0..spans)
        .map(|index| {
            json!({"traceId": trace_id, "spanId": format!("{:016x}", index + 1), "name": "step",
                "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 1000).to_string()})
        })
        .collect();
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
}

/// The managed server's URL with the read-only user's credentials from the
/// data directory (the server has no password-less user).
fn as_reader(url: &str, working_dir: &Path) -> String {
    let credentials = std::fs::read_to_string(working_dir.join("data/clickhouse/credentials"))
        .unwrap_or_default();
    let password = credentials
        .lines()
        .find_map(|line| line.strip_prefix("tracehouse_reader="))
        .unwrap_or_default();
    format!("{url}/?user=tracehouse_reader&password={password}")
}

/// `count()` and distinct `(trace_id, span_id)` of the spans table.
async fn stored_spans(http: &reqwest::Client, clickhouse: &str) -> anyhow::Result<(u64, u64)> {
    let text = http
        .post(clickhouse)
        .body("SELECT count(), uniqExact(trace_id, span_id) FROM tracehouse.spans FORMAT TSV")
        .send()
        .await?
        .text()
        .await?;
    let mut numbers = text.split_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(count)), Some(Ok(distinct))) => Ok((count, distinct)),
        _ => anyhow::bail!("unexpected answer {text:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_spans_survive_sigkill_before_any_write() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    // Batches would wait a minute: nothing reaches ClickHouse before the kill.
    let first = start_batching(data_dir.path(), "60000").await?;
    let (requests, spans_per_request) = (42, 50);
    // Each transport and format: the log keeps protobuf bodies as they came.
    let mut grpc = TraceServiceClient::connect(first.urls["otlp-grpc"].clone()).await?;
    for request in 0..requests {
        let body = spans_request(&format!("{:032x}", request + 1), spans_per_request);
        let traces = format!("{}/v1/traces", first.urls["otlp-http"]);
        let status = match request % 3 {
            0 => http
                .post(traces)
                .json(&body)
                .send()
                .await?
                .status()
                .as_u16(),
            1 => {
                let message: ExportTraceServiceRequest = serde_json::from_value(body)?;
                let response = http
                    .post(traces)
                    .header("content-type", "application/x-protobuf")
                    .body(prost::Message::encode_to_vec(&message))
                    .send()
                    .await?;
                response.status().as_u16()
            }
            _ => {
                grpc.export(serde_json::from_value::<ExportTraceServiceRequest>(body)?)
                    .await?;
                200
            }
        };
        assert_eq!(status, 200, "request {request}");
    }
    assert_eq!(
        stored_spans(
            &http,
            &as_reader(&first.urls["clickhouse"], data_dir.path())
        )
        .await?,
        (0, 0)
    );
    kill(pid_of(&first.child), Signal::SIGKILL)?;
    let first_server = managed_server_pid(data_dir.path()).expect("managed server pid file");
    wait_until("the orphaned clickhouse stopped", || {
        !is_running(first_server)
    })
    .await?;

    let mut second = start(data_dir.path()).await?;
    let expected = (requests * spans_per_request) as u64;
    let mut stored = (0, 0);
    for _ in 0..300 {
        stored = stored_spans(
            &http,
            &as_reader(&second.urls["clickhouse"], data_dir.path()),
        )
        .await?;
        if stored.0 >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stored,
        (expected, expected),
        "every acknowledged span, once"
    );
    // The trace view reads the table the materialized view fills, a moment later.
    let last_trace = format!("{requests:032x}");
    let mut spans = 0;
    for _ in 0..100 {
        spans = trace_span_count(&http, &second.urls["dashboard"], &last_trace).await?;
        if spans == spans_per_request {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(spans, spans_per_request);

    kill(pid_of(&second.child), Signal::SIGTERM)?;
    let status = tokio::time::timeout(Duration::from_secs(60), second.child.wait()).await??;
    assert!(status.success(), "exit status {status}");
    Ok(())
}

/// Sends `requests` requests of `spans_per_request` spans like an OTLP
/// exporter does: a 503 is retried after a pause. Calls `fault` once, after
/// the `fault_after`th request was acknowledged. Returns the spans acknowledged.
async fn send_through_a_fault(
    http: &reqwest::Client,
    otlp_http: &str,
    (requests, spans_per_request, fault_after): (usize, usize, usize),
    fault: impl FnOnce(),
) -> anyhow::Result<u64> {
    let mut fault = Some(fault);
    let mut acknowledged = 0;
    for request in 0..requests {
        let body = spans_request(&format!("{:032x}", request + 1), spans_per_request);
        let mut tries = 0;
        loop {
            let status = http
                .post(format!("{otlp_http}/v1/traces"))
                .json(&body)
                .send()
                .await?
                .status();
            if status == 200 {
                break;
            }
            tries += 1;
            anyhow::ensure!(
                status == 503 && tries < 300,
                "request {request} answered {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        acknowledged += spans_per_request as u64;
        if request + 1 == fault_after {
            if let Some(fault) = fault.take() {
                fault();
            }
        }
    }
    Ok(acknowledged)
}

/// Waits until the spans table holds `expected` distinct spans; returns (count, distinct).
async fn wait_for_distinct(
    http: &reqwest::Client,
    clickhouse: &str,
    expected: u64,
) -> anyhow::Result<(u64, u64)> {
    let mut stored = (0, 0);
    for _ in 0..600 {
        if let Ok(now) = stored_spans(http, clickhouse).await {
            stored = now;
            if stored.1 >= expected {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(stored)
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_acknowledged_is_lost_when_the_managed_clickhouse_is_killed() -> anyhow::Result<()>
{
    let data_dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let mut serve = start(data_dir.path()).await?;
    let server = managed_server_pid(data_dir.path()).expect("managed server pid file");
    let acknowledged = send_through_a_fault(&http, &serve.urls["otlp-http"], (40, 50, 10), || {
        let _ = kill(Pid::from_raw(server), Signal::SIGKILL);
    })
    .await?;
    let (count, distinct) = wait_for_distinct(
        &http,
        &as_reader(&serve.urls["clickhouse"], data_dir.path()),
        acknowledged,
    )
    .await?;
    assert_eq!(distinct, acknowledged, "every acknowledged span is stored");
    assert!(count >= distinct);
    let restarted = managed_server_pid(data_dir.path()).expect("pid file");
    assert_ne!(restarted, server, "the supervisor started a new server");
    kill(pid_of(&serve.child), Signal::SIGTERM)?;
    tokio::time::timeout(Duration::from_secs(60), serve.child.wait()).await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_acknowledged_is_lost_while_clickhouse_is_paused() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let mut serve = start(data_dir.path()).await?;
    let server = Pid::from_raw(managed_server_pid(data_dir.path()).expect("pid file"));
    let paused_at = std::sync::Mutex::new(None);
    let acknowledged = send_through_a_fault(&http, &serve.urls["otlp-http"], (40, 50, 10), || {
        let _ = kill(server, Signal::SIGSTOP);
        *paused_at.lock().expect("lock") = Some(std::time::Instant::now());
    })
    .await?;
    let paused_at = paused_at.lock().expect("lock").expect("paused");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(paused_at.elapsed())).await;
    kill(server, Signal::SIGCONT)?;
    let (_, distinct) = wait_for_distinct(
        &http,
        &as_reader(&serve.urls["clickhouse"], data_dir.path()),
        acknowledged,
    )
    .await?;
    assert_eq!(distinct, acknowledged, "every acknowledged span is stored");
    kill(pid_of(&serve.child), Signal::SIGTERM)?;
    tokio::time::timeout(Duration::from_secs(60), serve.child.wait()).await??;
    Ok(())
}
