//! `--demo`: the simulated application against this process, and the alert
//! rules it ships.

use anyhow::Context;

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

/// The demo against this process's own OTLP/gRPC receiver, in the background
/// (over TLS when the listeners serve it).
pub fn spawn(running: &crate::Running, ingest_token: Option<String>) {
    let Some(address) = running.addresses.otlp_grpc else {
        tracing::warn!("--demo needs the collector role; no demo runs");
        return;
    };
    let tls = running.tls.clone();
    tokio::spawn(async move {
        let options = tracehouse_simulator::DemoOptions {
            ingest_token,
            ..tracehouse_simulator::DemoOptions::default()
        };
        let outcome = match tls {
            None => tracehouse_simulator::run(&format!("http://{address}"), &options)
                .await
                .map_err(anyhow::Error::from),
            Some(tls) => match own_tls_channel(address, &tls).await {
                Ok(channel) => tracehouse_simulator::run_on(channel, &options)
                    .await
                    .map_err(anyhow::Error::from),
                Err(error) => Err(error),
            },
        };
        if let Err(error) = outcome {
            tracing::error!(error = %format!("{error:#}"), "the demo stopped");
        }
    });
}

/// A gRPC channel to this process's own TLS listener at `address`,
/// trusting exactly the certificate it serves.
pub async fn own_tls_channel(
    address: std::net::SocketAddr,
    tls: &crate::tls::Tls,
) -> anyhow::Result<tonic::transport::Channel> {
    let connector = tls.own_listener_connector(crate::tls::ALPN_GRPC)?;
    // `http`: the connector below does the TLS, not tonic.
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(std::time::Duration::from_secs(10));
    let connect = tower::service_fn(move |_: tonic::transport::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(address).await?;
            let name = rustls::pki_types::ServerName::IpAddress(address.ip().into());
            let stream = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    endpoint
        .connect_with_connector(connect)
        .await
        .context("connecting the demo to the OTLP/gRPC listener over TLS")
}
