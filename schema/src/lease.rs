//! Leases: work that exactly one process may do at a time (alert
//! evaluation and settling invocations) however many processes run.
//!
//! Every candidate beats into the `leases` table every `beat` interval,
//! stamped with the server's clock. Of the holders whose newest beat is at
//! most `expiry` old and that did not release, the one that has beaten
//! without a gap the longest holds the lease; a newcomer, or a candidate
//! back from a gap, never takes it from a live holder.
//! A holder that stops beating (a crash, a lost connection) loses it after
//! `expiry`; one that shuts down releases it at once.
//!
//! The holder also stops by its own clock: when its last beat that found it
//! holding is older than `expiry` minus one `beat`, it steps down even if it
//! cannot reach ClickHouse to learn so, before any other candidate can take
//! over. Two holders overlap only when two candidates start within one beat
//! of each other and both see only their own beat, and then for one beat.

use crate::error::SchemaError;
use crate::sql::{LEASE_BEAT, LEASE_HOLDER};
use clickhouse::Client;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracehouse_model::time::now_unix_nano;

/// How often a candidate beats, and how old its newest beat may be for it
/// to hold the lease.
#[derive(Debug, Clone, Copy)]
pub struct LeaseOptions {
    pub beat: Duration,
    /// At least two beats, and whole seconds (the server clock's unit).
    pub expiry: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            beat: Duration::from_secs(2),
            expiry: Duration::from_secs(10),
        }
    }
}

/// One candidate for the lease `name`.
pub struct Lease {
    client: Client,
    name: &'static str,
    holder: String,
    started_unix_nano: u64,
    options: LeaseOptions,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct HolderRow {
    holder: String,
}

impl Lease {
    /// `holder` names this candidate, the same across its restarts.
    pub fn new(client: Client, name: &'static str, holder: String, options: LeaseOptions) -> Self {
        Self {
            client,
            name,
            holder,
            started_unix_nano: now_unix_nano(),
            options,
        }
    }

    /// Beats, then whether this candidate holds the lease.
    pub async fn beat(&self) -> Result<bool, SchemaError> {
        self.write(false).await?;
        let expiry_s = self.options.expiry.as_secs().max(1);
        let holders: Vec<HolderRow> = self
            .client
            .query(LEASE_HOLDER)
            .bind(self.name)
            .bind(expiry_s)
            .fetch_all()
            .await
            .map_err(SchemaError::query("read the lease holder"))?;
        Ok(holders.first().is_some_and(|row| row.holder == self.holder))
    }

    /// Stops holding: the next candidate takes over at its next beat.
    pub async fn release(&self) -> Result<(), SchemaError> {
        self.write(true).await
    }

    async fn write(&self, released: bool) -> Result<(), SchemaError> {
        self.client
            .query(LEASE_BEAT)
            .bind(self.name)
            .bind(&self.holder)
            .bind(self.started_unix_nano)
            .bind(now_unix_nano())
            .bind(u8::from(released))
            .execute()
            .await
            .map_err(SchemaError::query("beat the lease"))
    }

    /// Beats until `shutdown`, telling `leading` whether this candidate
    /// holds the lease; on shutdown it steps down and releases.
    pub async fn run(mut self, leading: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let mut held_until: Option<Instant> = None;
        let mut last_beat: Option<Instant> = None;
        let hold = self.options.expiry.saturating_sub(self.options.beat);
        loop {
            let beat_started = Instant::now();
            if last_beat.is_none_or(|at| at.elapsed() >= hold) {
                // The others may have counted this candidate gone: it comes
                // back as a newcomer.
                self.started_unix_nano = now_unix_nano();
            }
            match self.beat().await {
                Ok(holds) => {
                    last_beat = Some(beat_started);
                    held_until = holds.then_some(beat_started + hold);
                }
                Err(error) => tracing::warn!(%error, lease = self.name, "cannot beat the lease"),
            }
            let holds = held_until.is_some_and(|until| Instant::now() < until);
            leading.send_if_modified(|current| std::mem::replace(current, holds) != holds);
            tokio::select! {
                _ = tokio::time::sleep(self.options.beat) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        leading.send_replace(false);
        if let Err(error) = self.release().await {
            tracing::warn!(%error, lease = self.name, "cannot release the lease");
        }
    }
}

/// Waits until `leading` is true; false when `shutdown` comes first.
pub async fn wait_to_lead(
    leading: &mut watch::Receiver<bool>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        led = leading.wait_for(|leads| *leads) => led.is_ok(),
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}
