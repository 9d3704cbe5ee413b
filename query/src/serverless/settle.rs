//! Settled invocations: the rows of `{live_invocations}` (each invocation
//! once, its REPORT figures, its cold-start verdict, its billing units)
//! stored by the settler for minutes whose data has arrived, so that reads
//! of those minutes skip the exactly-once step and the lookups.
//!
//! Invariants:
//! - A minute's facts are stored under one generation per settle, all of
//!   them (on every shard) before the minute is listed in
//!   `invocation_facts_minutes`; a read takes each minute's newest listed
//!   generation, so it never sees an unfinished settle nor two settles of
//!   one minute.
//! - A mark says that every invocation starting before `settled_until` is
//!   settled as of the pass that wrote it. Data arriving later for a
//!   minute below the mark is in `invocation_arrivals`; a read splits its
//!   window at the earliest such minute (see [`SettleMark::split_unix_nano`]),
//!   so it computes those minutes live and the answer never lags the data.
//!   The next pass settles them again under a new generation.
//! - Windows are whole minutes, so a minute is never split between settles.
//! - One process settles (the one running alerts); marks are read by all.

use super::scope::InvocationScope;
use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::time_window::TimeWindow;
use clickhouse::Client;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::watch;
use tracehouse_model::ProjectId;

const NANOS: u64 = 1_000_000_000;
const MINUTE_SECONDS: u32 = 60;

/// Arrivals this long before a pass began count as after it: an insert
/// under way when the pass read the data may not have been in it.
pub const ARRIVAL_MARGIN_SECONDS: u32 = 10;

/// A project's newest mark and the data that arrived below it since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettleMark {
    /// Invocations starting before this (unix nanos) are settled; 0: none.
    pub settled_until_unix_nano: u64,
    /// When the pass that wrote the mark began (server seconds).
    pub pass_started_s: u32,
    /// Arrivals for minutes below the mark since that pass.
    pub dirty: u64,
    /// The earliest of those minutes (seconds).
    pub dirty_from_s: u32,
}

impl SettleMark {
    /// Where a read splits its window: before it, the stored facts are
    /// those the live computation would give.
    pub fn split_unix_nano(&self) -> u64 {
        if self.dirty == 0 {
            return self.settled_until_unix_nano;
        }
        self.settled_until_unix_nano
            .min(u64::from(self.dirty_from_s) * NANOS)
    }
}

/// A row of `invocation_settle_marks`.
#[derive(Debug, Clone, clickhouse::Row, Serialize)]
struct MarkRecord {
    project: String,
    settled_until_unix_nano: u64,
    /// DateTime, as seconds.
    pass_started_at: u32,
    written_unix_nano: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct ProjectRow {
    project: String,
    now_s: u32,
}

/// A minute of a project, if `found` counts any row.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct MinuteRow {
    found: u64,
    minute_s: u32,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GenerationRow {
    generation: u64,
}

#[derive(Debug, Default, clickhouse::Row, Deserialize)]
struct MarkRow {
    settled_until_unix_nano: u64,
    pass_started_s: u32,
}

#[derive(Debug, Default, clickhouse::Row, Deserialize)]
struct DirtyRow {
    dirty: u64,
    dirty_from_s: u32,
}

/// The mark of `project` as a read sees it: two small reads, the second
/// (arrivals since the mark's pass) only when something is settled.
pub async fn read_mark(client: &Client, project: &ProjectId) -> Result<SettleMark, QueryError> {
    let params = Params::new().set("project", project.as_str());
    let rows: Vec<MarkRow> = sql::SETTLE_MARK.query(client, &params)?.fetch_all().await?;
    let mark = rows.into_iter().next().unwrap_or_default();
    if mark.settled_until_unix_nano == 0 {
        return Ok(SettleMark::default());
    }
    let since = mark.pass_started_s.saturating_sub(ARRIVAL_MARGIN_SECONDS);
    let params = params
        .set("since_s", since)
        .set("settled_until_ns", mark.settled_until_unix_nano);
    let rows: Vec<DirtyRow> = sql::SETTLE_DIRTY
        .query(client, &params)?
        .fetch_all()
        .await?;
    let dirty = rows.into_iter().next().unwrap_or_default();
    Ok(SettleMark {
        settled_until_unix_nano: mark.settled_until_unix_nano,
        pass_started_s: mark.pass_started_s,
        dirty: dirty.dirty,
        dirty_from_s: dirty.dirty_from_s,
    })
}

/// How the settler runs.
#[derive(Debug, Clone, Copy)]
pub struct SettleOptions {
    /// Time between passes.
    pub interval: Duration,
    /// Minutes younger than this are left live (their data is still arriving).
    pub delay: Duration,
    /// The longest window one statement settles.
    pub chunk: Duration,
    /// A minute that received data this recently is left live (and the
    /// mark stops before it): it is still arriving.
    pub quiet: Duration,
}

impl Default for SettleOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            delay: Duration::from_secs(120),
            chunk: Duration::from_secs(3_600),
            quiet: Duration::from_secs(30),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Projects whose mark moved.
    pub projects: usize,
    /// Windows stored.
    pub windows: usize,
}

/// Stores settled invocations; run it in one process, with a client that
/// may insert.
pub struct Settler {
    client: Client,
    options: SettleOptions,
    last_generation: u64,
    /// Server time the previous pass began; 0 before the first.
    previous_pass_s: u32,
    /// A project without a mark settled nothing in the previous pass (its
    /// data was too young or still arriving): the next pass looks at every
    /// stored project again, as the first does, so that it is not left
    /// unsettled once its data stops arriving.
    unmarked_waiting: bool,
}

impl Settler {
    /// Its inserts return once every shard holds their rows (in cluster
    /// mode, a `Distributed` insert is otherwise queued): each statement of
    /// a settle reads back the generation the one before stored, and a
    /// minute is listed only once all its facts are readable.
    pub fn new(client: Client, options: SettleOptions) -> Self {
        Self {
            client: client.with_setting("insert_distributed_sync", "1"),
            options,
            last_generation: 0,
            previous_pass_s: 0,
            unmarked_waiting: false,
        }
    }

    /// Passes every `interval` while `leading`, until `shutdown`; a failed
    /// pass is logged and the next one tries again (reads stay exact
    /// meanwhile: what is not settled is computed live). Each time it comes
    /// to lead, it starts afresh from what is stored, as another process
    /// may have settled in between.
    pub async fn run(
        mut self,
        mut leading: watch::Receiver<bool>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        while tracehouse_schema::lease::wait_to_lead(&mut leading, &mut shutdown).await {
            self.forget_progress();
            while *leading.borrow() {
                if let Err(error) = self.pass().await {
                    tracing::warn!(%error, "settling invocations failed, will retry");
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.options.interval) => {}
                    _ = leading.changed() => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
            }
        }
    }

    /// Back to the state of a new settler: the next pass reads the newest
    /// stored generation and looks at every stored project.
    fn forget_progress(&mut self) {
        self.last_generation = 0;
        self.previous_pass_s = 0;
        self.unmarked_waiting = false;
    }

    /// One pass over every project.
    pub async fn pass(&mut self) -> Result<PassReport, QueryError> {
        if self.last_generation == 0 {
            self.last_generation = self.newest_generation().await?;
        }
        let since = self.previous_pass_s.saturating_sub(ARRIVAL_MARGIN_SECONDS);
        let params = Params::new()
            .set("since_s", since)
            .set("stored", self.previous_pass_s == 0 || self.unmarked_waiting);
        self.unmarked_waiting = false;
        let projects: Vec<ProjectRow> = sql::SETTLE_PROJECTS
            .query(&self.client, &params)?
            .fetch_all()
            .await?;
        let mut report = PassReport::default();
        let mut pass_started = self.previous_pass_s;
        for row in projects {
            pass_started = row.now_s;
            let Ok(project) = ProjectId::new(&row.project) else {
                tracing::warn!(project = %row.project, "not settling a project of an invalid name");
                continue;
            };
            let windows = self.settle_project(&project, row.now_s).await?;
            if windows > 0 {
                report.projects += 1;
                report.windows += windows;
            }
        }
        self.previous_pass_s = pass_started.max(1);
        Ok(report)
    }

    /// Settles `project` from its mark (or its first invocation, or the
    /// first minute that received data since) up to `delay` before `now_s`
    /// and before the first minute still receiving data (the mark may move
    /// back to it); returns the windows stored.
    async fn settle_project(
        &mut self,
        project: &ProjectId,
        now_s: u32,
    ) -> Result<usize, QueryError> {
        let mark = read_mark(&self.client, project).await?;
        let start = match mark.settled_until_unix_nano {
            0 => match self.first_minute(project).await? {
                Some(minute) => minute,
                None => return Ok(0),
            },
            _ => mark.split_unix_nano(),
        };
        let delay = u32::try_from(self.options.delay.as_secs()).unwrap_or(u32::MAX);
        let target = u64::from(floor_minute(now_s.saturating_sub(delay))) * NANOS;
        let mut end = target.max(mark.settled_until_unix_nano);
        if let Some(noisy) = self.noisy_from(project, now_s).await? {
            end = end.min(noisy);
        }
        let chunk = self.options.chunk.as_secs().max(u64::from(MINUTE_SECONDS)) / 60 * 60 * NANOS;
        let mut from = floor_minute_nanos(start);
        let mut windows = 0;
        if mark.settled_until_unix_nano == 0 && from >= end {
            self.unmarked_waiting = true;
        }
        while from < end {
            let to = (from + chunk).min(end);
            self.settle_window(project, from, to).await?;
            self.write_mark(project, to, now_s).await?;
            windows += 1;
            from = to;
        }
        Ok(windows)
    }

    /// Stores the invocations of `project` starting in `[from, to)` (whole
    /// minutes) under a new generation, and their sums per minute, then
    /// lists their minutes.
    async fn settle_window(
        &mut self,
        project: &ProjectId,
        from: u64,
        to: u64,
    ) -> Result<(), QueryError> {
        let generation = self.next_generation();
        let window = TimeWindow {
            start_unix_nano: from,
            end_unix_nano: to,
        };
        let scope = InvocationScope::window(project, &window);
        let facts = scope.live_params().set("generation", generation);
        sql::SETTLE_INVOCATIONS
            .query(&self.client, &facts)?
            .execute()
            .await?;
        let minutes = Params::new()
            .set("generation", generation)
            .set("project", project.as_str())
            .set("split_s", window.start_seconds())
            .set("to_s", window.end_seconds());
        let slots = minutes.clone().set("slot_s", MINUTE_SECONDS);
        sql::SETTLE_SLOTS
            .query(&self.client, &slots)?
            .execute()
            .await?;
        sql::SETTLE_MINUTES
            .query(&self.client, &minutes)?
            .execute()
            .await?;
        Ok(())
    }

    async fn write_mark(
        &mut self,
        project: &ProjectId,
        until: u64,
        pass_started_s: u32,
    ) -> Result<(), QueryError> {
        let record = MarkRecord {
            project: project.as_str().to_owned(),
            settled_until_unix_nano: until,
            pass_started_at: pass_started_s,
            written_unix_nano: self.next_generation(),
        };
        let mut insert = self
            .client
            .insert::<MarkRecord>(tracehouse_schema::tables::INVOCATION_SETTLE_MARKS)
            .await?;
        insert.write(&record).await?;
        insert.end().await?;
        Ok(())
    }

    /// The minute of the first stored invocation of `project`.
    async fn first_minute(&self, project: &ProjectId) -> Result<Option<u64>, QueryError> {
        let params = Params::new().set("project", project.as_str());
        self.minute_of(&sql::SETTLE_FIRST_MINUTE, &params).await
    }

    /// The first minute of `project` that received data within `quiet`
    /// of `now_s`.
    async fn noisy_from(&self, project: &ProjectId, now_s: u32) -> Result<Option<u64>, QueryError> {
        let quiet = u32::try_from(self.options.quiet.as_secs()).unwrap_or(u32::MAX);
        let params = Params::new()
            .set("project", project.as_str())
            .set("since_s", now_s.saturating_sub(quiet));
        self.minute_of(&sql::SETTLE_NOISY, &params).await
    }

    /// The minute a `found, minute_s` template names, in unix nanos.
    async fn minute_of(
        &self,
        template: &sql::Template,
        params: &Params,
    ) -> Result<Option<u64>, QueryError> {
        let rows: Vec<MinuteRow> = template.query(&self.client, params)?.fetch_all().await?;
        Ok(rows
            .into_iter()
            .find(|row| row.found > 0)
            .map(|row| u64::from(row.minute_s) * NANOS))
    }

    async fn newest_generation(&self) -> Result<u64, QueryError> {
        let rows: Vec<GenerationRow> = sql::SETTLE_NEWEST_GENERATION
            .query(&self.client, &Params::new())?
            .fetch_all()
            .await?;
        Ok(rows.first().map_or(0, |row| row.generation))
    }

    /// A number above every earlier one: the clock in nanos, or one more.
    fn next_generation(&mut self) -> u64 {
        let now = tracehouse_model::time::now_unix_nano();
        self.last_generation = now.max(self.last_generation + 1);
        self.last_generation
    }
}

fn floor_minute(seconds: u32) -> u32 {
    seconds - seconds % MINUTE_SECONDS
}

fn floor_minute_nanos(nanos: u64) -> u64 {
    let minute = u64::from(MINUTE_SECONDS) * NANOS;
    nanos - nanos % minute
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_split_at_the_earliest_minute_that_changed_below_the_mark() {
        let clean = SettleMark {
            settled_until_unix_nano: 600 * NANOS,
            pass_started_s: 700,
            dirty: 0,
            dirty_from_s: 0,
        };
        assert_eq!(clean.split_unix_nano(), 600 * NANOS);
        let dirty = SettleMark {
            dirty: 2,
            dirty_from_s: 120,
            ..clean
        };
        assert_eq!(dirty.split_unix_nano(), 120 * NANOS);
        assert_eq!(SettleMark::default().split_unix_nano(), 0);
    }

    #[test]
    fn windows_are_whole_minutes() {
        assert_eq!(floor_minute(119), 60);
        assert_eq!(floor_minute_nanos(61 * NANOS + 5), 60 * NANOS);
    }
}
