//! `--demo`: the simulated application against this process, and the alert
//! rules it ships.

/// The demo's alert rules (`deploy/demo.toml`), used with `--demo` when no
/// other rules are configured.
pub fn alert_rules() -> anyhow::Result<toml::Table> {
    let mut file: toml::Table = toml::from_str(include_str!("../../deploy/demo.toml"))?;
    match file.remove("alerts") {
        Some(toml::Value::Table(alerts)) => Ok(alerts),
        _ => anyhow::bail!("deploy/demo.toml has no [alerts] table"),
    }
}

/// The demo against this process's own OTLP/gRPC receiver, in the background.
pub fn spawn(running: &crate::Running) {
    let Some(address) = running.addresses.otlp_grpc else {
        tracing::warn!("--demo needs the collector role; no demo runs");
        return;
    };
    let target = format!("http://{address}");
    tokio::spawn(async move {
        let options = tracehouse_simulator::DemoOptions::default();
        if let Err(error) = tracehouse_simulator::run(&target, &options).await {
            tracing::error!(%error, "the demo stopped");
        }
    });
}
