//! Wiring of the alerts role: its configuration section, the collector
//! counters it reads, reloads on SIGHUP, and its HTTP routes.

use crate::config::{Config, Role};
use anyhow::Context;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tracehouse_alerting::ingest_health::CounterSource;
use tracehouse_alerting::{AlertMetrics, Alerts, AlertsConfig, AlertsOptions};
use tracehouse_model::ProjectId;

/// Starts evaluating the rules of `config` (an invalid section stops the start;
/// invalid rules are logged and skipped).
pub fn start(
    config: &Config,
    query: tracehouse_query::QueryService,
    http: SocketAddr,
    registry: Arc<Registry>,
    metrics: Arc<AlertMetrics>,
    leading: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Alerts> {
    let section = match &config.alerts {
        Some(table) => AlertsConfig::from_table(table).context("configuration file")?,
        None => AlertsConfig::default(),
    };
    let counters = if config.runs(Role::Collector) {
        CounterSource::Registry(registry)
    } else {
        CounterSource::None
    };
    let options = AlertsOptions {
        project: ProjectId::default(),
        config_path: config.config_file.clone(),
        dashboard_url: format!("{}://{http}", config.url_scheme()),
        counters,
        leading,
    };
    let alerts = Alerts::start(query, section, options, metrics, shutdown.clone());
    tokio::spawn(reload_on_hangup(alerts.clone(), shutdown));
    Ok(alerts)
}

async fn reload_on_hangup(alerts: Alerts, mut shutdown: watch::Receiver<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP: reload rules over HTTP");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                if let Err(error) = alerts.reload() {
                    tracing::error!(%error, "alert rules not reloaded");
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// The alerts API and page, for processes running the query or alerts role.
pub fn router(
    config: &Config,
    client: &clickhouse::Client,
    engine: Option<Alerts>,
    app: &tracehouse_web::AppState,
) -> Option<axum::Router> {
    if !(config.runs(Role::Query) || config.runs(Role::Alerts)) {
        return None;
    }
    let store = tracehouse_alerting::Store::new(client.clone(), ProjectId::default());
    Some(tracehouse_web::api::alerts::router(
        tracehouse_web::api::alerts::AlertsState {
            store,
            engine,
            app: app.clone(),
        },
    ))
}
