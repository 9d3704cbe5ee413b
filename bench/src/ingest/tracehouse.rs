//! Tracehouse as the process under test: the `tracehouse` binary built next
//! to the benchmark, serving on free ports against the benchmark's
//! ClickHouse, so that its CPU time and peak memory are its own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `tracehouse serve`.
pub struct TracehouseProcess {
    child: Child,
    pub pid: u32,
    pub grpc_endpoint: String,
    pub http_endpoint: String,
    _data_dir: tempfile::TempDir,
}

/// The `tracehouse` binary next to this benchmark's executable (same profile).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let directory = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?;
    Ok(directory.join("tracehouse"))
}

impl TracehouseProcess {
    /// Starts `binary` against `clickhouse_url`, database `database`, with its
    /// log in `log_path`, and waits until it prints where it listens.
    pub async fn start(
        binary: &Path,
        clickhouse_url: &str,
        database: &str,
        log_path: &Path,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            binary.is_file(),
            "{} is missing: run `cargo build --release -p tracehouse` first",
            binary.display()
        );
        let data_dir = tempfile::tempdir()?;
        let mut child = Command::new(binary)
            .arg("serve")
            .args(["--data-dir", &data_dir.path().display().to_string()])
            .args(["--clickhouse-url", clickhouse_url])
            .args(["--clickhouse-database", database])
            .args(["--otlp-grpc-addr", "127.0.0.1:0"])
            .args(["--otlp-http-addr", "127.0.0.1:0"])
            .args(["--http-addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log_path)?)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("tracehouse exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let (grpc_endpoint, http_endpoint) = read_endpoints(stdout, log_path).await?;
        Ok(Self {
            child,
            pid,
            grpc_endpoint,
            http_endpoint,
            _data_dir: data_dir,
        })
    }

    /// Stops the process (its figures have been read).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// The OTLP/gRPC and OTLP/HTTP URLs from the `listening NAME URL` lines.
async fn read_endpoints(
    stdout: tokio::process::ChildStdout,
    log_path: &Path,
) -> anyhow::Result<(String, String)> {
    let mut lines = BufReader::new(stdout).lines();
    let (mut grpc, mut http) = (None, None);
    while grpc.is_none() || http.is_none() {
        let Some(line) = lines.next_line().await? else {
            anyhow::bail!(
                "tracehouse stopped before listening; see {}",
                log_path.display()
            );
        };
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("listening"), Some("otlp-grpc"), Some(url)) => grpc = Some(url.to_owned()),
            (Some("listening"), Some("otlp-http"), Some(url)) => http = Some(url.to_owned()),
            _ => {}
        }
    }
    // Keep draining stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    match (grpc, http) {
        (Some(grpc), Some(http)) => Ok((grpc, http)),
        _ => anyhow::bail!("tracehouse printed no OTLP endpoints"),
    }
}
