//! Alerting: rules over Tracehouse's serverless signals, evaluated against
//! ClickHouse, delivered by signed webhooks. See `docs/alerts.md`.
//!
//! `config` parses the `[alerts]` section, `signal` and `source` read the
//! signals (through the query crate only), `eval` is the state machine,
//! `engine` runs the rules, `store` keeps state in ClickHouse, `webhook`
//! builds and signs bodies, `delivery` sends them, `silence` mutes them.

pub mod config;
pub mod delivery;
pub mod engine;
pub mod eval;
pub mod ids;
pub mod ingest_health;
pub mod metrics;
pub mod observe;
pub mod signal;
pub mod silence;
pub mod source;
pub mod store;
pub mod webhook;

pub use config::AlertsConfig;
pub use engine::{Alerts, AlertsOptions, Snapshot};
pub use eval::AlertState;
pub use metrics::AlertMetrics;
pub use store::Store;

use serde::Serialize;

/// An alert firing now, for the overview page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiringAlert {
    pub rule: String,
    /// Empty for a rule over all functions.
    pub function: String,
    pub fingerprint: String,
    /// RFC 3339.
    pub since: String,
    pub value: Option<f64>,
    pub summary: String,
}

/// Every group whose latest stored state is `firing`. Reads ClickHouse, so
/// it works in any process, whichever one runs the alerts role.
pub async fn firing_alerts(
    client: &clickhouse::Client,
    project: &tracehouse_model::ProjectId,
) -> Result<Vec<FiringAlert>, store::StoreError> {
    let groups = Store::new(client.clone(), project.clone())
        .group_states()
        .await?;
    Ok(groups
        .into_iter()
        .filter(|group| group.last_state == AlertState::Firing.as_str())
        .map(|group| FiringAlert {
            rule: group.rule,
            function: group.last_function,
            fingerprint: group.fingerprint,
            since: ids::rfc3339(if group.last_active_since > 0 {
                group.last_active_since
            } else {
                group.last_since
            }),
            value: (group.last_has_value == 1).then_some(group.last_value),
            summary: group.last_message,
        })
        .collect())
}
