//! The few questions the ingest benchmark asks ClickHouse over HTTP: row
//! counts (the end of a run is the last row counted), bytes on disk, and
//! the server's pid for its CPU time.

use std::time::{Duration, Instant};

/// A ClickHouse server reached over HTTP.
#[derive(Clone)]
pub struct Server {
    pub url: String,
    http: reqwest::Client,
}

/// How long the row count may stay unchanged before a run counts as stuck.
const STALL_LIMIT: Duration = Duration::from_secs(60);

impl Server {
    pub fn new(url: String) -> Self {
        Self {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// Runs `sql` (benchmark-built, no user input) and returns the answer text.
    pub async fn query(&self, sql: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(&self.url)
            .body(sql.to_owned())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{status}: {text}");
        Ok(text)
    }

    async fn number(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(self.query(sql).await?.trim().parse::<u64>()?)
    }

    /// Rows in `table` (`database.table`).
    pub async fn count(&self, table: &str) -> anyhow::Result<u64> {
        self.number(&format!("SELECT count() FROM {table}")).await
    }

    /// Waits until `table` holds at least `rows` rows; returns when it saw them.
    pub async fn wait_for_rows(&self, table: &str, rows: u64) -> anyhow::Result<Instant> {
        let (mut last, mut last_change) = (0, Instant::now());
        loop {
            let counted = self.count(table).await?;
            let now = Instant::now();
            if counted >= rows {
                return Ok(now);
            }
            if counted != last {
                (last, last_change) = (counted, now);
            }
            anyhow::ensure!(
                now - last_change < STALL_LIMIT,
                "{table} stopped at {counted} of {rows} rows"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Bytes on disk of the active parts of every table of `database`.
    pub async fn bytes_on_disk(&self, database: &str) -> anyhow::Result<u64> {
        self.number(&format!(
            "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE active AND database = '{database}'"
        ))
        .await
    }

    pub async fn drop_database(&self, database: &str) -> anyhow::Result<()> {
        self.query(&format!("DROP DATABASE IF EXISTS {database}"))
            .await
            .map(drop)
    }
}
