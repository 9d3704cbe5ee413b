//! Rotel, the peer, through `shared/peers/rotel/run_rotel.sh`: it creates
//! byte-compatible tables in a database of the benchmark's ClickHouse and
//! starts `rotel-agent` (installed from PyPI on first use). Its state
//! directory is the benchmark's own, so the script's pid files are ours.

use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The script, searched for in `shared/peers/rotel/` of the current
/// directory's ancestors (the repository sits next to `shared`).
pub fn find_script() -> Option<PathBuf> {
    let current = std::env::current_dir().ok()?;
    current
        .ancestors()
        .map(|directory| directory.join("shared/peers/rotel/run_rotel.sh"))
        .find(|path| path.is_file())
}

/// A running Rotel.
pub struct Rotel {
    script: PathBuf,
    state: tempfile::TempDir,
    pub pid: u32,
    pub grpc_endpoint: String,
}

impl Rotel {
    /// Starts Rotel exporting to database `database` of the ClickHouse whose
    /// HTTP port is `clickhouse_port`.
    pub async fn start(
        script: &Path,
        clickhouse_port: u16,
        database: &str,
    ) -> anyhow::Result<Self> {
        let state = tempfile::tempdir()?;
        let output = Command::new("bash")
            .arg(script)
            .args(["start", &clickhouse_port.to_string()])
            .env("ROTEL_CH_DB", database)
            .env("ROTEL_PEER_STATE", state.path())
            .output()
            .await?;
        anyhow::ensure!(
            output.status.success(),
            "run_rotel.sh start failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let port = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let pid = std::fs::read_to_string(state.path().join("rotel.pid"))?
            .trim()
            .parse::<u32>()?;
        Ok(Self {
            script: script.to_owned(),
            state,
            pid,
            grpc_endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Stops Rotel through the script (by the pid it recorded).
    pub async fn stop(self) -> anyhow::Result<()> {
        let status = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .env("ROTEL_PEER_STATE", self.state.path())
            .status()
            .await?;
        anyhow::ensure!(status.success(), "run_rotel.sh stop failed");
        Ok(())
    }
}
