//! Sending notifications to receivers, reliably.
//!
//! A notification is in the outbox (`alert_events`, `notify = 1`) before it
//! is sent. Each (notification, receiver) pair is one delivery with a
//! stable id, sent in `X-Tracehouse-Delivery` on every attempt. Network
//! errors, timeouts, 5xx and 429 are retried with exponential backoff and
//! jitter, waiting at least `Retry-After`; other answers end the delivery.
//! Every attempt is recorded; a delivery without a final attempt (the
//! process stopped) is resumed by [`Deliverer::resume_pending`] with the
//! same id, so a receiver that deduplicates by id sees it once.

use crate::config::{AlertsConfig, Receiver};
use crate::ids::{now_unix_nano, short_hash};
use crate::metrics::AlertMetrics;
use crate::silence::{self, Target};
use crate::store::{AttemptRow, OutboxRow, Store};
use crate::webhook::{self, Notification, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// First retry delay; doubled each attempt up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between attempts (also caps `Retry-After`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Deliveries sent at the same time.
pub const MAX_CONCURRENT_DELIVERIES: usize = 16;
/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 500;

/// One notification for one receiver.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub delivery_id: String,
    pub event_id: String,
    pub receiver: String,
    pub created_unix_nano: u64,
    pub notification: Notification,
    /// Attempts already made (by an earlier process).
    pub attempts_made: u32,
}

impl Delivery {
    /// The delivery of the notification `event_id` to `receiver`.
    pub fn new(event_id: &str, receiver: &str, created: u64, notification: Notification) -> Self {
        Self {
            delivery_id: short_hash(&[event_id, receiver]),
            event_id: event_id.to_owned(),
            receiver: receiver.to_owned(),
            created_unix_nano: created,
            notification,
            attempts_made: 0,
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Delivered,
    /// Worth retrying, not before the given wait (from `Retry-After`).
    Retry(Option<Duration>),
    /// Not worth retrying (a 4xx other than 429).
    Failed,
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry(_) => "retry",
            Self::Failed => "failed",
        }
    }
}

/// Runs deliveries; cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    http: reqwest::Client,
    config: Arc<RwLock<Arc<AlertsConfig>>>,
    in_flight: Arc<Mutex<HashSet<String>>>,
    permits: Arc<Semaphore>,
    metrics: Arc<AlertMetrics>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Deliverer {
    /// Deliveries stop between attempts once `shutdown` turns true; what
    /// is left is resumed by the next process.
    pub fn new(
        store: Store,
        config: Arc<RwLock<Arc<AlertsConfig>>>,
        metrics: Arc<AlertMetrics>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            http: reqwest::Client::new(),
            config,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_DELIVERIES)),
            metrics,
            shutdown,
        }
    }

    fn receiver(&self, name: &str) -> Option<Receiver> {
        let config = self.config.read().map(|config| Arc::clone(&config)).ok()?;
        config.receiver(name).cloned()
    }

    /// Starts `delivery` unless it is already running.
    pub fn submit(&self, delivery: Delivery) {
        let fresh = self
            .in_flight
            .lock()
            .map(|mut running| running.insert(delivery.delivery_id.clone()))
            .unwrap_or(false);
        if fresh {
            let deliverer = self.clone();
            tokio::spawn(async move {
                let id = delivery.delivery_id.clone();
                deliverer.run(delivery).await;
                if let Ok(mut running) = deliverer.in_flight.lock() {
                    running.remove(&id);
                }
            });
        }
    }

    /// Resubmits every recorded notification whose deliveries have no final
    /// attempt, within the longest give-up time of the receivers.
    pub async fn resume_pending(&self) -> Result<usize, crate::store::StoreError> {
        let horizon = self
            .config
            .read()
            .ok()
            .and_then(|config| config.receivers.iter().map(|r| r.give_up_after).max())
            .unwrap_or(crate::config::DEFAULT_GIVE_UP_AFTER);
        let since = now_unix_nano().saturating_sub(u64::try_from(horizon.as_nanos()).unwrap_or(0));
        let outbox = self.store.outbox(since).await?;
        if outbox.is_empty() {
            return Ok(0);
        }
        let progress = self.store.delivery_progress(since).await?;
        let mut resumed = 0;
        for row in outbox {
            for delivery in pending_deliveries(&row, &progress) {
                resumed += 1;
                self.submit(delivery);
            }
        }
        Ok(resumed)
    }

    async fn run(&self, delivery: Delivery) {
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        let Some(receiver) = self.receiver(&delivery.receiver) else {
            let error = format!("receiver {:?} is no longer configured", delivery.receiver);
            self.record(
                &delivery,
                delivery.attempts_made,
                "failed",
                0,
                0.0,
                &error,
                true,
            )
            .await;
            return;
        };
        if self.silenced(&delivery).await {
            self.record(
                &delivery,
                delivery.attempts_made,
                "silenced",
                0,
                0.0,
                "",
                true,
            )
            .await;
            return;
        }
        let give_up_at = delivery.created_unix_nano
            + u64::try_from(receiver.give_up_after.as_nanos()).unwrap_or(u64::MAX);
        let body = webhook::body(receiver.format, &delivery.notification, &receiver.name);
        let mut attempt = delivery.attempts_made;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            if now_unix_nano() >= give_up_at {
                let error = format!(
                    "gave up after {}",
                    crate::config::format_duration(receiver.give_up_after)
                );
                self.record(&delivery, attempt, "gave_up", 0, 0.0, &error, true)
                    .await;
                return;
            }
            attempt += 1;
            let started = Instant::now();
            let (outcome, status, error) = self.attempt(&receiver, &delivery, &body).await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let is_final = !matches!(outcome, Outcome::Retry(_));
            self.record(
                &delivery,
                attempt,
                outcome.name(),
                status,
                latency_ms,
                &error,
                is_final,
            )
            .await;
            let Outcome::Retry(retry_after) = outcome else {
                return;
            };
            let remaining = Duration::from_nanos(give_up_at.saturating_sub(now_unix_nano()));
            let wait = backoff(attempt).max(retry_after.unwrap_or_default());
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait.min(remaining)) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    async fn silenced(&self, delivery: &Delivery) -> bool {
        let notification = &delivery.notification;
        let at = now_unix_nano();
        match self.store.silences(at).await {
            Ok(silences) => silences.iter().any(|row| {
                silence::matches(
                    row,
                    Target {
                        rule: &notification.rule,
                        function: notification.function.as_deref().unwrap_or(""),
                        labels: &notification.labels,
                        at_unix_nano: at,
                    },
                )
            }),
            Err(error) => {
                // Sending is the safer mistake: a silence is a convenience.
                tracing::warn!(%error, "cannot read silences, sending anyway");
                false
            }
        }
    }

    async fn attempt(
        &self,
        receiver: &Receiver,
        delivery: &Delivery,
        body: &[u8],
    ) -> (Outcome, u16, String) {
        let timestamp = (now_unix_nano() / 1_000_000_000).to_string();
        let mut request = self
            .http
            .post(&receiver.url)
            .timeout(receiver.attempt_timeout)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("tracehouse/", env!("CARGO_PKG_VERSION")),
            )
            .header(DELIVERY_HEADER, &delivery.delivery_id)
            .header(TIMESTAMP_HEADER, timestamp)
            .body(body.to_vec());
        if let Some(secret) = &receiver.secret {
            request = request.header(SIGNATURE_HEADER, webhook::signature(secret, body));
        }
        match request.send().await {
            Err(error) => (Outcome::Retry(None), 0, truncate(&error.to_string())),
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let outcome = if status.is_success() {
                    Outcome::Delivered
                } else if status.is_server_error() || status.as_u16() == 429 {
                    Outcome::Retry(retry_after)
                } else {
                    Outcome::Failed
                };
                let error = if status.is_success() {
                    String::new()
                } else {
                    format!("HTTP {status}")
                };
                (outcome, status.as_u16(), error)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        delivery: &Delivery,
        attempt: u32,
        outcome: &'static str,
        http_status: u16,
        latency_ms: f64,
        error: &str,
        is_final: bool,
    ) {
        self.metrics.delivery(outcome);
        let now = now_unix_nano();
        let notification = &delivery.notification;
        let row = AttemptRow {
            project: self.store.project().to_owned(),
            timestamp: crate::store::seconds(now),
            time_unix_nano: now,
            delivery_id: delivery.delivery_id.clone(),
            event_id: delivery.event_id.clone(),
            receiver: delivery.receiver.clone(),
            rule: notification.rule.clone(),
            fingerprint: notification.fingerprint.clone(),
            status: notification.status.as_str().to_owned(),
            attempt,
            outcome: outcome.to_owned(),
            http_status,
            latency_ms,
            error: error.to_owned(),
            is_final: u8::from(is_final),
        };
        if let Err(error) = self.store.insert_attempt(&row).await {
            // The delivery goes on; after a restart it may be sent again
            // under the same id, which receivers deduplicate.
            tracing::warn!(%error, delivery = %delivery.delivery_id, "cannot record a delivery attempt");
        }
    }
}

/// The deliveries of an outbox row that have not ended.
fn pending_deliveries(
    row: &OutboxRow,
    progress: &[crate::store::DeliveryProgress],
) -> Vec<Delivery> {
    let Ok(notification) = serde_json::from_str::<Notification>(&row.payload) else {
        tracing::warn!(event = %row.event_id, "stored notification does not parse, skipped");
        return Vec::new();
    };
    row.receivers
        .iter()
        .filter_map(|receiver| {
            let mut delivery = Delivery::new(
                &row.event_id,
                receiver,
                row.time_unix_nano,
                notification.clone(),
            );
            let done = progress
                .iter()
                .find(|p| p.delivery_id == delivery.delivery_id);
            if done.is_some_and(|p| p.finished == 1) {
                return None;
            }
            delivery.attempts_made = done.map_or(0, |p| p.attempts);
            Some(delivery)
        })
        .collect()
}

/// Wait before the attempt after `attempt`: doubling from
/// [`FIRST_BACKOFF`], capped, with jitter (50 % to 100 %).
pub fn backoff(attempt: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    doubled
        .min(MAX_BACKOFF)
        .mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// `Retry-After` as seconds or an HTTP date, capped at [`MAX_BACKOFF`].
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let when = httpdate::parse_http_date(text).ok()?;
            when.duration_since(tracehouse_model::time::now())
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_BACKOFF))
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 1..=4u32 {
            let full = FIRST_BACKOFF * 2u32.pow(attempt - 1);
            for _ in 0..20 {
                let wait = backoff(attempt);
                assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
            }
        }
        assert!(backoff(40) <= MAX_BACKOFF);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = tracehouse_model::time::now() + Duration::from_secs(60);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().expect("header"),
        );
        let wait = retry_after(&headers).expect("date");
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "soon".parse().expect("header"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
