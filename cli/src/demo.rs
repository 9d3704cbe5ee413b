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

/// The project `serve --demo` writes into: the one the demo's alert rules
/// evaluate and the dashboard opens on, as without ingest tokens.
pub fn project() -> tracehouse_model::ProjectId {
    tracehouse_model::ProjectId::default()
}

/// Prepares `config` for `serve --demo`: the demo's alert rules when no
/// others are configured and, when ingest tokens are required, a token of
/// this process only for [`project`] (returned; its hash is in force until
/// the process ends, and never written to a file).
pub fn prepare(config: &mut crate::Config) -> anyhow::Result<Option<String>> {
    if config.alerts.is_none() {
        config.alerts = Some(alert_rules()?);
    }
    let token = crate::access::in_process_ingest_token(config, &project())?;
    if token.is_some() {
        tracing::info!(project = %project(), "ingest tokens are required: the demo sends with a token of its own");
    }
    Ok(token)
}

/// The demo against this process's own OTLP/gRPC receiver, in the background.
pub fn spawn(running: &crate::Running, ingest_token: Option<String>) {
    let Some(address) = running.addresses.otlp_grpc else {
        tracing::warn!("--demo needs the collector role; no demo runs");
        return;
    };
    if running.serves_tls {
        tracing::warn!("--demo sends plain gRPC and the listeners serve TLS only; no demo runs");
        return;
    }
    let target = format!("http://{address}");
    tokio::spawn(async move {
        let options = tracehouse_simulator::DemoOptions {
            ingest_token,
            ..tracehouse_simulator::DemoOptions::default()
        };
        if let Err(error) = tracehouse_simulator::run(&target, &options).await {
            tracing::error!(%error, "the demo stopped");
        }
    });
}
