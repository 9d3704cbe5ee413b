//! `tracehouse serve` as a child process, for the tests that run the binary.

#![allow(dead_code)]

use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running binary and the URLs it printed (`dashboard`, `otlp-grpc`, ...).
pub struct Serve {
    pub child: Child,
    pub urls: HashMap<String, String>,
}

/// Starts `tracehouse serve` in `working_dir` on free ports with the
/// relative data directory `data` (the default is relative too) and `args`,
/// and waits for its `listening` lines.
pub async fn start_serve(working_dir: &Path, args: &[&str]) -> anyhow::Result<Serve> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracehouse"))
        .args(["serve", "--http-addr", "127.0.0.1:0"])
        .args([
            "--otlp-grpc-addr",
            "127.0.0.1:0",
            "--otlp-http-addr",
            "127.0.0.1:0",
        ])
        .args(["--data-dir", "data"])
        .args(args)
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

/// The process id of a running child.
pub fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(child.id().expect("running") as i32)
}

/// POSTs an OTLP/HTTP JSON traces body; it must be stored (200).
pub async fn export_traces(
    http: &reqwest::Client,
    otlp_http: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let status = http
        .post(format!("{otlp_http}/v1/traces"))
        .json(body)
        .send()
        .await?
        .status();
    anyhow::ensure!(status == 200, "export answered {status}");
    Ok(())
}
