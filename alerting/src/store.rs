//! Alert state in ClickHouse: transitions and notifications
//! (`alert_events`, also the delivery outbox), delivery attempts and
//! silences. Queries are the templates in `alerting/sql/`, with named typed
//! placeholders parsed by the query crate's `Template`; input reaches them
//! only through `bind()`.

use clickhouse::Client;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use tracehouse_model::ProjectId;
use tracehouse_query::sql::{Params, Template};
use tracehouse_schema::tables::{ALERT_DELIVERY_ATTEMPTS, ALERT_EVENTS, ALERT_SILENCES};

macro_rules! template {
    ($file:literal) => {
        LazyLock::new(|| Template::parse($file, include_str!(concat!("../sql/", $file)), &[]))
    };
}

static GROUP_STATES: LazyLock<Template> = template!("group_states.sql");
static HISTORY: LazyLock<Template> = template!("history.sql");
static OUTBOX: LazyLock<Template> = template!("outbox.sql");
static DELIVERY_PROGRESS: LazyLock<Template> = template!("delivery_progress.sql");
static DELIVERIES: LazyLock<Template> = template!("deliveries.sql");
static SILENCES: LazyLock<Template> = template!("silences.sql");

/// Every query template of the alerting crate, for dialect checks.
pub fn templates() -> Vec<&'static Template> {
    vec![
        &GROUP_STATES,
        &HISTORY,
        &OUTBOX,
        &DELIVERY_PROGRESS,
        &DELIVERIES,
        &SILENCES,
    ]
}

/// Rows a history or deliveries listing returns when no limit is given.
pub const DEFAULT_LIST_LIMIT: u64 = 100;
/// Most rows one history or deliveries listing returns.
pub const MAX_LIST_LIMIT: u64 = 1000;

/// A failed read or write of alert state.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct StoreError {
    what: &'static str,
    message: String,
}

fn failed<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |error| StoreError {
        what,
        message: error.to_string(),
    }
}

/// One row of `alert_events`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EventRow {
    pub project: String,
    pub timestamp: u32,
    pub time_unix_nano: u64,
    pub event_id: String,
    /// `transition`, `repeat`, `rule_error` or `rule_ok`.
    pub kind: String,
    pub rule: String,
    pub fingerprint: String,
    pub function: String,
    pub from_state: String,
    pub to_state: String,
    pub value: f64,
    pub has_value: u8,
    pub threshold: f64,
    pub active_since_unix_nano: u64,
    pub message: String,
    pub notify: u8,
    pub receivers: Vec<String>,
    pub payload: String,
}

impl EventRow {
    /// An event of `kind` for `rule` at `now`, every other column empty.
    pub fn new(project: &str, now: u64, event_id: String, kind: &str, rule: &str) -> Self {
        Self {
            project: project.to_owned(),
            timestamp: seconds(now),
            time_unix_nano: now,
            event_id,
            kind: kind.to_owned(),
            rule: rule.to_owned(),
            fingerprint: String::new(),
            function: String::new(),
            from_state: String::new(),
            to_state: String::new(),
            value: 0.0,
            has_value: 0,
            threshold: 0.0,
            active_since_unix_nano: 0,
            message: String::new(),
            notify: 0,
            receivers: Vec::new(),
            payload: String::new(),
        }
    }
}

/// One row of `alert_delivery_attempts`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct AttemptRow {
    pub project: String,
    pub timestamp: u32,
    pub time_unix_nano: u64,
    pub delivery_id: String,
    pub event_id: String,
    pub receiver: String,
    pub rule: String,
    pub fingerprint: String,
    pub status: String,
    pub attempt: u32,
    pub outcome: String,
    pub http_status: u16,
    pub latency_ms: f64,
    pub error: String,
    pub is_final: u8,
}

/// One row of `alert_silences`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct SilenceRow {
    pub project: String,
    pub id: String,
    pub created_unix_nano: u64,
    pub starts_at_unix_nano: u64,
    pub ends_at_unix_nano: u64,
    pub rule: String,
    pub function: String,
    pub label_keys: Vec<String>,
    pub label_values: Vec<String>,
    pub comment: String,
}

/// The latest state of a rule group, as stored.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct StoredGroup {
    pub rule: String,
    pub fingerprint: String,
    pub last_function: String,
    pub last_state: String,
    pub last_since: u64,
    pub last_active_since: u64,
    pub last_value: f64,
    pub last_has_value: u8,
    pub last_message: String,
    pub last_notified: u64,
    /// The last firing notification (Tracehouse body) and its receivers.
    pub last_firing_payload: String,
    pub last_firing_receivers: Vec<String>,
}

/// A notification to (re)send, from the outbox.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct OutboxRow {
    pub event_id: String,
    pub time_unix_nano: u64,
    pub rule: String,
    pub fingerprint: String,
    pub function: String,
    pub to_state: String,
    pub receivers: Vec<String>,
    pub payload: String,
}

/// Attempts made for a delivery, and whether it is finished.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct DeliveryProgress {
    pub delivery_id: String,
    pub attempts: u32,
    pub finished: u8,
}

/// Reads and writes alert state for one project.
#[derive(Clone)]
pub struct Store {
    client: Client,
    project: ProjectId,
}

impl Store {
    pub fn new(client: Client, project: ProjectId) -> Self {
        Self { client, project }
    }

    /// The project whose alerts this store holds.
    pub fn project(&self) -> &str {
        self.project.as_str()
    }

    fn params(&self) -> Params {
        Params::new().set("project", self.project())
    }

    fn listing(&self, rule: &str, limit: u64) -> Params {
        self.params()
            .set("rule", rule)
            .set("limit", limit.clamp(1, MAX_LIST_LIMIT))
    }

    async fn fetch<T>(
        &self,
        template: &Template,
        params: Params,
        what: &'static str,
    ) -> Result<Vec<T>, StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let query = template
            .query(&self.client, &params)
            .map_err(failed(what))?;
        query.fetch_all().await.map_err(failed(what))
    }

    /// Records events in one insert: all or none.
    pub async fn insert_events(&self, rows: &[EventRow]) -> Result<(), StoreError> {
        insert_rows(&self.client, ALERT_EVENTS, rows, "record alert events").await
    }

    /// Records one delivery attempt.
    pub async fn insert_attempt(&self, row: &AttemptRow) -> Result<(), StoreError> {
        insert_rows(
            &self.client,
            ALERT_DELIVERY_ATTEMPTS,
            std::slice::from_ref(row),
            "record a delivery attempt",
        )
        .await
    }

    /// Records a silence.
    pub async fn insert_silence(&self, row: &SilenceRow) -> Result<(), StoreError> {
        insert_rows(
            &self.client,
            ALERT_SILENCES,
            std::slice::from_ref(row),
            "record a silence",
        )
        .await
    }

    /// The latest state of every rule group.
    pub async fn group_states(&self) -> Result<Vec<StoredGroup>, StoreError> {
        self.fetch(&GROUP_STATES, self.params(), "read alert states")
            .await
    }

    /// Transitions and notifications, newest first.
    pub async fn history(&self, rule: &str, limit: u64) -> Result<Vec<EventRow>, StoreError> {
        let params = self.listing(rule, limit);
        self.fetch(&HISTORY, params, "read alert history").await
    }

    /// Delivery attempts, newest first.
    pub async fn deliveries(&self, rule: &str, limit: u64) -> Result<Vec<AttemptRow>, StoreError> {
        let params = self.listing(rule, limit);
        self.fetch(&DELIVERIES, params, "read deliveries").await
    }

    /// Notifications recorded since `since_unix_nano`.
    pub async fn outbox(&self, since_unix_nano: u64) -> Result<Vec<OutboxRow>, StoreError> {
        let params = self
            .params()
            .set("since_s", seconds(since_unix_nano))
            .set("since_ns", since_unix_nano);
        self.fetch(&OUTBOX, params, "read the delivery outbox")
            .await
    }

    /// Progress of the deliveries attempted since `since_unix_nano`.
    pub async fn delivery_progress(
        &self,
        since_unix_nano: u64,
    ) -> Result<Vec<DeliveryProgress>, StoreError> {
        let params = self.params().set("since_s", seconds(since_unix_nano));
        self.fetch(&DELIVERY_PROGRESS, params, "read delivery progress")
            .await
    }

    /// Silences that end after `now_unix_nano`.
    pub async fn silences(&self, now_unix_nano: u64) -> Result<Vec<SilenceRow>, StoreError> {
        let params = self.params().set("now_ns", now_unix_nano);
        self.fetch(&SILENCES, params, "read silences").await
    }
}

/// `timestamp` seconds of a time in nanoseconds (partition pruning).
pub fn seconds(unix_nano: u64) -> u32 {
    u32::try_from(unix_nano / 1_000_000_000).unwrap_or(u32::MAX)
}

async fn insert_rows<T>(
    client: &Client,
    table: &'static str,
    rows: &[T],
    what: &'static str,
) -> Result<(), StoreError>
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = client.insert::<T>(table).await.map_err(failed(what))?;
    for row in rows {
        insert.write(row).await.map_err(failed(what))?;
    }
    insert.end().await.map_err(failed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template ends with a `LIMIT`, as the query crate's do.
    #[test]
    fn every_template_ends_with_a_limit() {
        for template in templates() {
            assert!(
                template.final_limit().is_some(),
                "{} lacks a LIMIT",
                template.name
            );
        }
    }

    /// Each template's placeholders are exactly what the store binds.
    #[test]
    fn templates_match_the_bound_values() {
        let store = Store::new(Client::default(), ProjectId::default());
        let bound = [
            (&*GROUP_STATES, store.params()),
            (&*HISTORY, store.listing("r", 5)),
            (&*DELIVERIES, store.listing("", 5)),
            (
                &*OUTBOX,
                store.params().set("since_s", 1u32).set("since_ns", 1u64),
            ),
            (&*DELIVERY_PROGRESS, store.params().set("since_s", 1u32)),
            (&*SILENCES, store.params().set("now_ns", 1u64)),
        ];
        assert_eq!(bound.len(), templates().len());
        for (template, params) in bound {
            template
                .check(&params)
                .unwrap_or_else(|error| panic!("{error}"));
            assert!(
                template.sample_sql().is_some(),
                "{} lacks samples",
                template.name
            );
        }
    }
}
