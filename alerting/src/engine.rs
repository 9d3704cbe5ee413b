//! The alerts role: evaluates every rule each `interval`, records state
//! changes and notifications in one insert, hands notifications to the
//! [`Deliverer`], and keeps a snapshot for the API.
//!
//! At start the latest stored state of every group is restored, and
//! notifications without a final delivery attempt are resent, so a restart
//! neither fires twice nor loses a resolve. Exactly one process of a
//! deployment should run this role.

use crate::config::{format_duration, AlertsConfig, ConfigProblem, Rule, SectionError};
use crate::delivery::{Deliverer, Delivery};
use crate::eval::{self, AlertState, GroupState, Observation, Timing};
use crate::ids::{now_unix_nano, rfc3339, short_hash};
use crate::ingest_health::{CounterSource, RejectedSamples};
use crate::metrics::AlertMetrics;
use crate::observe::Reads;
use crate::store::{EventRow, Store};
use crate::webhook::{Notification, Status};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracehouse_model::ProjectId;
use tracehouse_query::QueryService;

/// How often notifications without a final attempt are looked for.
const RESUME_INTERVAL: Duration = Duration::from_secs(60);
/// Wait between tries to restore state when ClickHouse is not there yet.
const RESTORE_RETRY: Duration = Duration::from_secs(2);

/// How the alerts role is set up.
#[derive(Clone)]
pub struct AlertsOptions {
    pub project: ProjectId,
    /// The `--config` file, re-read on reload.
    pub config_path: Option<PathBuf>,
    /// Base URL of the dashboard, used unless `alerts.external_url` is set.
    pub dashboard_url: String,
    /// Where `rejected_spans` is read from when no URLs are configured.
    pub counters: CounterSource,
    /// Whether this process holds the alerts lease: rules are evaluated
    /// and deliveries resumed only while it does.
    pub leading: watch::Receiver<bool>,
}

/// One group of a rule, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    pub fingerprint: String,
    pub function: Option<String>,
    pub state: AlertState,
    pub since: String,
    pub active_since: Option<String>,
    pub value: Option<f64>,
}

/// One rule, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    #[serde(flatten)]
    pub rule: Rule,
    /// The worst state of its groups, or `error`.
    pub state: AlertState,
    pub error: Option<String>,
    pub last_evaluation: Option<String>,
    pub last_evaluation_ms: Option<f64>,
    pub groups: Vec<GroupStatus>,
}

/// Everything the alerts role knows right now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub interval: String,
    pub rules: Vec<RuleStatus>,
    /// Rules and receivers rejected by the last load.
    pub problems: Vec<ConfigProblem>,
    pub loaded_at: String,
}

/// A group in memory.
#[derive(Debug, Clone)]
struct Group {
    rule: String,
    function: String,
    state: GroupState,
    last_notified_unix_nano: u64,
    /// The last firing notification and its receivers, to resolve the
    /// alert even after its rule was removed.
    last_firing: Option<(Notification, Vec<String>)>,
}

/// The running alerts role; cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

struct Inner {
    query: QueryService,
    store: Store,
    options: AlertsOptions,
    config: Arc<RwLock<Arc<AlertsConfig>>>,
    snapshot: RwLock<Snapshot>,
    deliverer: Deliverer,
    metrics: Arc<AlertMetrics>,
    groups: tokio::sync::Mutex<HashMap<String, Group>>,
    rule_errors: Mutex<HashMap<String, String>>,
    wake: Notify,
    http: reqwest::Client,
    samples: Mutex<RejectedSamples>,
}

impl Alerts {
    /// Starts evaluating `config` until `shutdown` turns true.
    pub fn start(
        query: QueryService,
        config: AlertsConfig,
        options: AlertsOptions,
        metrics: Arc<AlertMetrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let store = Store::new(query.client().clone(), options.project.clone());
        for problem in &config.problems {
            tracing::error!(%problem, "alert rule rejected");
        }
        metrics.rejected_rules.set(config.problems.len() as i64);
        let config = Arc::new(RwLock::new(Arc::new(config)));
        let deliverer = Deliverer::new(
            store.clone(),
            Arc::clone(&config),
            Arc::clone(&metrics),
            shutdown.clone(),
        );
        let alerts = Self {
            inner: Arc::new(Inner {
                query,
                store,
                options,
                config,
                snapshot: RwLock::new(Snapshot::default()),
                deliverer,
                metrics,
                groups: tokio::sync::Mutex::new(HashMap::new()),
                rule_errors: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                http: reqwest::Client::new(),
                samples: Mutex::new(RejectedSamples::default()),
            }),
        };
        alerts.publish(&BTreeMap::new(), &HashMap::new());
        let running = alerts.clone();
        let leading = running.inner.options.leading.clone();
        tokio::spawn(async move { running.run(leading, shutdown).await });
        alerts
    }

    /// Whether this process evaluates now: it holds the alerts lease.
    pub fn is_leading(&self) -> bool {
        *self.inner.options.leading.borrow()
    }

    /// The current rules and states.
    pub fn snapshot(&self) -> Snapshot {
        self.inner
            .snapshot
            .read()
            .map(|snapshot| snapshot.clone())
            .unwrap_or_default()
    }

    /// Rules running now.
    pub fn rule_count(&self) -> usize {
        self.config().rules.len()
    }

    /// The store of this role's project.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn config(&self) -> Arc<AlertsConfig> {
        self.inner
            .config
            .read()
            .map(|config| Arc::clone(&config))
            .unwrap_or_default()
    }

    /// Re-reads the `[alerts]` section of the config file. Valid rules
    /// replace the running ones; rejected ones are returned (and logged).
    /// When the section itself is wrong, nothing changes.
    pub fn reload(&self) -> Result<Vec<ConfigProblem>, SectionError> {
        let path = self.inner.options.config_path.as_ref().ok_or_else(|| {
            SectionError("no configuration file: start with --config to reload rules".into())
        })?;
        let config = AlertsConfig::load(path)?;
        let problems = config.problems.clone();
        for problem in &problems {
            tracing::error!(%problem, "alert rule rejected");
        }
        tracing::info!(
            rules = config.rules.len(),
            rejected = problems.len(),
            "alert rules reloaded"
        );
        self.inner.metrics.rejected_rules.set(problems.len() as i64);
        if let Ok(mut current) = self.inner.config.write() {
            *current = Arc::new(config);
        }
        let errors: BTreeMap<String, String> = self
            .inner
            .rule_errors
            .lock()
            .map(|known| known.clone().into_iter().collect())
            .unwrap_or_default();
        self.publish(&errors, &HashMap::new());
        self.inner.wake.notify_one();
        Ok(problems)
    }

    /// Evaluates while `leading`, until `shutdown`. Each time it comes to
    /// lead, it takes the stored states (another process may have evaluated
    /// in between) and resumes the deliveries left without a final attempt.
    async fn run(self, mut leading: watch::Receiver<bool>, mut shutdown: watch::Receiver<bool>) {
        while tracehouse_schema::lease::wait_to_lead(&mut leading, &mut shutdown).await {
            self.restore(&mut shutdown).await;
            let mut last_resume = tokio::time::Instant::now();
            self.resume().await;
            while *leading.borrow() {
                self.evaluate().await;
                if last_resume.elapsed() >= RESUME_INTERVAL {
                    self.resume().await;
                    last_resume = tokio::time::Instant::now();
                }
                let interval = self.config().interval;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = self.inner.wake.notified() => {}
                    _ = leading.changed() => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
            }
        }
    }

    async fn resume(&self) {
        match self.inner.deliverer.resume_pending().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "resuming alert deliveries"),
            Err(error) => tracing::warn!(%error, "cannot read pending alert deliveries"),
        }
    }

    /// Loads the latest stored state of every group, retrying until it works.
    async fn restore(&self, shutdown: &mut watch::Receiver<bool>) {
        self.inner.groups.lock().await.clear();
        loop {
            match self.inner.store.group_states().await {
                Ok(stored) => {
                    let mut groups = self.inner.groups.lock().await;
                    for row in stored {
                        let Some(state) = AlertState::parse(&row.last_state) else {
                            continue;
                        };
                        let group = Group {
                            rule: row.rule.clone(),
                            function: row.last_function.clone(),
                            state: GroupState {
                                state,
                                since_unix_nano: row.last_since,
                                active_since_unix_nano: row.last_active_since,
                                clear_since_unix_nano: None,
                                last_value: (row.last_has_value == 1).then_some(row.last_value),
                            },
                            last_notified_unix_nano: row.last_notified,
                            last_firing: serde_json::from_str(&row.last_firing_payload)
                                .ok()
                                .map(|notification| (notification, row.last_firing_receivers)),
                        };
                        groups.insert(row.fingerprint, group);
                    }
                    return;
                }
                Err(error) => tracing::warn!(%error, "cannot restore alert states yet, retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(RESTORE_RETRY) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// One evaluation of every rule.
    async fn evaluate(&self) {
        let config = self.config();
        let now = now_unix_nano();
        let started = std::time::Instant::now();
        let inner = &self.inner;
        let reads = Reads::gather(
            &inner.query,
            &inner.options.project,
            &config.rules,
            now,
            &self.counters(&config),
            &inner.samples,
            &inner.http,
        )
        .await;
        let mut groups = inner.groups.lock().await;
        let mut batch = Batch::default();
        let mut errors = BTreeMap::new();
        for rule in &config.rules {
            let known: BTreeSet<String> = groups
                .values()
                .filter(|group| group.rule == rule.name)
                .map(|group| group.function.clone())
                .collect();
            match reads.values(rule, &known, now, &inner.samples) {
                Ok(values) => {
                    inner.metrics.evaluated(&rule.name, false);
                    for (function, value) in values {
                        self.step_group(rule, &function, value, now, &reads, &groups, &mut batch)
                            .await;
                    }
                }
                Err(error) => {
                    inner.metrics.evaluated(&rule.name, true);
                    tracing::warn!(rule = %rule.name, %error, "alert rule evaluation failed");
                    errors.insert(rule.name.clone(), error);
                }
            }
        }
        self.health_events(&config, &errors, now, &mut batch);
        self.resolve_removed(&config, &groups, now, &mut batch);
        match inner.store.insert_events(&batch.events).await {
            Ok(()) => {
                for (fingerprint, group) in batch.updates {
                    groups.insert(fingerprint, group);
                }
                for delivery in batch.deliveries {
                    inner.deliverer.submit(delivery);
                }
                if let Ok(mut known) = inner.rule_errors.lock() {
                    *known = errors.clone().into_iter().collect();
                }
            }
            Err(error) => {
                // Nothing is applied: the same changes are found again next time.
                tracing::error!(%error, "cannot record alert transitions");
                let message = format!("storing transitions failed: {error}");
                for rule in &config.rules {
                    errors
                        .entry(rule.name.clone())
                        .or_insert_with(|| message.clone());
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let mut timings = HashMap::new();
        for rule in &config.rules {
            timings.insert(rule.name.clone(), (now, elapsed));
        }
        drop(groups);
        self.publish(&errors, &timings);
    }

    fn counters(&self, config: &AlertsConfig) -> CounterSource {
        if config.collector_metrics_urls.is_empty() {
            self.inner.options.counters.clone()
        } else {
            CounterSource::Scrape(config.collector_metrics_urls.clone())
        }
    }

    /// Steps one group and adds its event, state and deliveries to `batch`.
    #[allow(clippy::too_many_arguments)]
    async fn step_group(
        &self,
        rule: &Rule,
        function: &str,
        value: Option<f64>,
        now: u64,
        reads: &Reads,
        groups: &HashMap<String, Group>,
        batch: &mut Batch,
    ) {
        let fingerprint = short_hash(&[&rule.name, function]);
        let previous = groups.get(&fingerprint).cloned().unwrap_or_else(|| Group {
            rule: rule.name.clone(),
            function: function.to_owned(),
            state: GroupState::new(now),
            last_notified_unix_nano: 0,
            last_firing: None,
        });
        let observation = match value {
            Some(value) => Observation::Value {
                value,
                holds: rule.op.holds(value, rule.threshold),
            },
            None => Observation::NoData,
        };
        let timing = Timing {
            for_duration: rule.for_duration,
            keep_firing_for: rule.keep_firing_for,
            no_data: rule.no_data,
        };
        let (next, change) = eval::step(&previous.state, observation, timing, now);
        let mut group = Group {
            state: next,
            ..previous.clone()
        };
        let repeat_due = group.state.state == AlertState::Firing
            && change.is_none()
            && now.saturating_sub(group.last_notified_unix_nano)
                >= u64::try_from(rule.repeat_interval.as_nanos()).unwrap_or(u64::MAX);
        let notify = match change {
            Some(change) if change.to == AlertState::Firing => Some(Status::Firing),
            Some(change) if change.from == AlertState::Firing => Some(Status::Resolved),
            None if repeat_due => Some(Status::Firing),
            _ => None,
        };
        if change.is_none() && notify.is_none() {
            batch.updates.push((fingerprint, group));
            return;
        }
        let kind = if change.is_some() {
            "transition"
        } else {
            "repeat"
        };
        let event_id = short_hash(&[&rule.name, &fingerprint, kind, &now.to_string()]);
        let mut payload = String::new();
        if let Some(status) = notify {
            let samples = self.samples(rule, function, status, now, reads).await;
            let notification = self.notification(rule, &fingerprint, &group, status, now, samples);
            payload = serde_json::to_string(&notification).unwrap_or_default();
            if status == Status::Firing {
                group.last_firing = Some((notification.clone(), rule.receivers.clone()));
            }
            for receiver in &rule.receivers {
                batch.deliveries.push(Delivery::new(
                    &event_id,
                    receiver,
                    now,
                    notification.clone(),
                ));
            }
            group.last_notified_unix_nano = now;
        }
        let (from, to) = change.map_or((group.state.state, group.state.state), |c| (c.from, c.to));
        let project = self.inner.store.project();
        batch.events.push(EventRow {
            fingerprint: fingerprint.clone(),
            function: function.to_owned(),
            from_state: from.as_str().to_owned(),
            to_state: to.as_str().to_owned(),
            value: group.state.last_value.unwrap_or(0.0),
            has_value: u8::from(group.state.last_value.is_some()),
            threshold: rule.threshold,
            active_since_unix_nano: group.state.active_since_unix_nano,
            message: summary(rule, function, group.state.last_value, notify),
            notify: u8::from(notify.is_some()),
            receivers: if notify.is_some() {
                rule.receivers.clone()
            } else {
                Vec::new()
            },
            payload,
            ..EventRow::new(project, now, event_id, kind, &rule.name)
        });
        batch.updates.push((fingerprint, group));
    }

    /// Sample trace ids for a firing notification (none for resolved).
    async fn samples(
        &self,
        rule: &Rule,
        function: &str,
        status: Status,
        now: u64,
        reads: &Reads,
    ) -> Vec<String> {
        if status == Status::Resolved {
            return Vec::new();
        }
        match rule.signal {
            crate::signal::Signal::BrokenChains => reads.broken_samples(rule, function),
            crate::signal::Signal::RejectedSpans => Vec::new(),
            signal => {
                let window = crate::source::window_ending(now, rule.window);
                let min_ms = matches!(
                    rule.op,
                    crate::signal::Op::Greater | crate::signal::Op::GreaterOrEqual
                )
                .then_some(rule.threshold);
                let found = crate::source::sample_traces(
                    &self.inner.query,
                    &self.inner.options.project,
                    signal,
                    function,
                    window,
                    min_ms,
                )
                .await;
                found.unwrap_or_else(|error| {
                    tracing::warn!(rule = %rule.name, %error, "cannot read sample traces");
                    Vec::new()
                })
            }
        }
    }

    fn notification(
        &self,
        rule: &Rule,
        fingerprint: &str,
        group: &Group,
        status: Status,
        now: u64,
        sample_trace_ids: Vec<String>,
    ) -> Notification {
        let config = self.config();
        let base = config
            .external_url
            .as_deref()
            .unwrap_or(&self.inner.options.dashboard_url)
            .trim_end_matches('/');
        let function = (!group.function.is_empty()).then(|| group.function.clone());
        Notification {
            version: "1".to_owned(),
            status,
            rule: rule.name.clone(),
            severity: rule.severity.clone(),
            labels: rule.labels.clone(),
            function,
            signal: rule.signal,
            value: group.state.last_value,
            threshold: rule.threshold,
            window: format_duration(rule.window),
            started_at: rfc3339(group.state.active_since_unix_nano),
            resolved_at: (status == Status::Resolved).then(|| rfc3339(now)),
            fingerprint: fingerprint.to_owned(),
            summary: summary(rule, &group.function, group.state.last_value, Some(status)),
            sample_trace_ids,
            dashboard_url: format!("{base}/alerts?rule={}", percent_encode(&rule.name)),
        }
    }

    /// Resolves groups still firing whose rule is no longer configured, with
    /// their last firing notification's rule settings and receivers.
    fn resolve_removed(
        &self,
        config: &AlertsConfig,
        groups: &HashMap<String, Group>,
        now: u64,
        batch: &mut Batch,
    ) {
        let configured: BTreeSet<&str> =
            config.rules.iter().map(|rule| rule.name.as_str()).collect();
        for (fingerprint, group) in groups {
            if group.state.state != AlertState::Firing || configured.contains(group.rule.as_str()) {
                continue;
            }
            let Some((firing, receivers)) = &group.last_firing else {
                continue;
            };
            let event_id = short_hash(&[&group.rule, fingerprint, "removed", &now.to_string()]);
            let notification = Notification {
                status: Status::Resolved,
                resolved_at: Some(rfc3339(now)),
                value: None,
                sample_trace_ids: Vec::new(),
                summary: format!("rule {:?} was removed from the configuration", group.rule),
                ..firing.clone()
            };
            for receiver in receivers {
                batch.deliveries.push(Delivery::new(
                    &event_id,
                    receiver,
                    now,
                    notification.clone(),
                ));
            }
            let project = self.inner.store.project();
            batch.events.push(EventRow {
                fingerprint: fingerprint.clone(),
                function: group.function.clone(),
                from_state: AlertState::Firing.as_str().to_owned(),
                to_state: AlertState::Resolved.as_str().to_owned(),
                threshold: firing.threshold,
                active_since_unix_nano: group.state.active_since_unix_nano,
                message: notification.summary.clone(),
                notify: 1,
                receivers: receivers.clone(),
                payload: serde_json::to_string(&notification).unwrap_or_default(),
                ..EventRow::new(project, now, event_id, "transition", &group.rule)
            });
            let mut resolved = group.clone();
            resolved.state.state = AlertState::Resolved;
            resolved.state.since_unix_nano = now;
            batch.updates.push((fingerprint.clone(), resolved));
        }
    }

    /// `rule_error` / `rule_ok` events for rules whose health changed.
    fn health_events(
        &self,
        config: &AlertsConfig,
        errors: &BTreeMap<String, String>,
        now: u64,
        batch: &mut Batch,
    ) {
        let before = self
            .inner
            .rule_errors
            .lock()
            .map(|known| known.clone())
            .unwrap_or_default();
        for rule in &config.rules {
            let (kind, from, to, message) = match (before.get(&rule.name), errors.get(&rule.name)) {
                (None, Some(error)) => (
                    "rule_error",
                    AlertState::Ok,
                    AlertState::Error,
                    error.clone(),
                ),
                (Some(_), None) => ("rule_ok", AlertState::Error, AlertState::Ok, String::new()),
                _ => continue,
            };
            let event_id = short_hash(&[&rule.name, kind, &now.to_string()]);
            let project = self.inner.store.project();
            batch.events.push(EventRow {
                from_state: from.as_str().to_owned(),
                to_state: to.as_str().to_owned(),
                threshold: rule.threshold,
                message,
                ..EventRow::new(project, now, event_id, kind, &rule.name)
            });
        }
    }

    /// Rebuilds the snapshot from the current config and group states.
    fn publish(&self, errors: &BTreeMap<String, String>, timings: &HashMap<String, (u64, f64)>) {
        let config = self.config();
        let groups = match self.inner.groups.try_lock() {
            Ok(groups) => groups.clone(),
            Err(_) => return,
        };
        let previous = self.snapshot();
        let rules = config
            .rules
            .iter()
            .map(|rule| {
                let old = previous
                    .rules
                    .iter()
                    .find(|status| status.rule.name == rule.name);
                rule_status(
                    rule,
                    &groups,
                    errors.get(&rule.name).cloned(),
                    timings.get(&rule.name),
                    old,
                )
            })
            .collect();
        let snapshot = Snapshot {
            interval: format_duration(config.interval),
            rules,
            problems: config.problems.clone(),
            loaded_at: previous.loaded_at.clone(),
        };
        if let Ok(mut current) = self.inner.snapshot.write() {
            *current = Snapshot {
                loaded_at: if snapshot.loaded_at.is_empty() {
                    rfc3339(now_unix_nano())
                } else {
                    snapshot.loaded_at.clone()
                },
                ..snapshot
            };
        }
    }
}

/// What one evaluation will record and send.
#[derive(Default)]
struct Batch {
    events: Vec<EventRow>,
    updates: Vec<(String, Group)>,
    deliveries: Vec<Delivery>,
}

fn rule_status(
    rule: &Rule,
    groups: &HashMap<String, Group>,
    error: Option<String>,
    timing: Option<&(u64, f64)>,
    old: Option<&RuleStatus>,
) -> RuleStatus {
    let mut statuses: Vec<GroupStatus> = groups
        .iter()
        .filter(|(_, group)| group.rule == rule.name)
        .map(|(fingerprint, group)| GroupStatus {
            fingerprint: fingerprint.clone(),
            function: (!group.function.is_empty()).then(|| group.function.clone()),
            state: group.state.state,
            since: rfc3339(group.state.since_unix_nano),
            active_since: (group.state.active_since_unix_nano > 0)
                .then(|| rfc3339(group.state.active_since_unix_nano)),
            value: group.state.last_value,
        })
        .collect();
    statuses.sort_by(|a, b| a.function.cmp(&b.function));
    let worst = statuses
        .iter()
        .map(|group| group.state)
        .max_by_key(|state| severity(*state));
    RuleStatus {
        rule: rule.clone(),
        state: if error.is_some() {
            AlertState::Error
        } else {
            worst.unwrap_or(AlertState::Ok)
        },
        error,
        last_evaluation: timing
            .map(|(at, _)| rfc3339(*at))
            .or_else(|| old.and_then(|status| status.last_evaluation.clone())),
        last_evaluation_ms: timing
            .map(|(_, ms)| *ms)
            .or_else(|| old.and_then(|status| status.last_evaluation_ms)),
        groups: statuses,
    }
}

/// Order of states when summarizing a rule's groups.
fn severity(state: AlertState) -> u8 {
    match state {
        AlertState::Ok => 0,
        AlertState::Resolved => 1,
        AlertState::Nodata => 2,
        AlertState::Pending => 3,
        AlertState::Firing => 4,
        AlertState::Error => 5,
    }
}

/// One line saying what the value is against the rule.
fn summary(rule: &Rule, function: &str, value: Option<f64>, status: Option<Status>) -> String {
    let subject = if function.is_empty() {
        format!("{} of all functions", rule.signal.name())
    } else {
        format!("{} of {function}", rule.signal.name())
    };
    let condition = format!(
        "{} {} over {}",
        rule.op.symbol(),
        rule.threshold,
        format_duration(rule.window)
    );
    let value = value.map_or_else(|| "no data".to_owned(), |value| format!("{value}"));
    match status {
        Some(Status::Resolved) => format!("{subject} is back to {value} (alert on {condition})"),
        _ => format!("{subject} is {value} ({condition})"),
    }
}

/// Percent-encodes everything but unreserved characters (for a query value).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_encoded_for_links() {
        assert_eq!(percent_encode("checkout errors/5"), "checkout%20errors%2F5");
    }
}
