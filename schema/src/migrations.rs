//! Numbered schema migrations, applied at startup.
//!
//! Each migration is one statement in `schema/migrations/NNNN_name.sql`.
//! Statements use `IF NOT EXISTS`, so two processes migrating at once, or a
//! crash between a statement and its record, leave a consistent schema.
//! Migrations are applied by the set of recorded versions, so one numbered
//! below an applied one still runs.

use crate::cluster::{Layout, Statement};
use crate::error::SchemaError;
use crate::tables::{PLATFORM_REPORTS, SCHEMA_MIGRATIONS};
use clickhouse::Client;
use std::collections::BTreeSet;

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Increasing number; recorded once applied.
    pub version: u32,
    /// File name without the extension.
    pub name: &'static str,
    /// The statement.
    pub sql: &'static str,
    /// For an `ALTER TABLE ... ADD COLUMN` migration: the table and the
    /// columns it adds. 18.16 has no `ADD COLUMN IF NOT EXISTS`, so the
    /// statement is skipped when all of them exist (a re-run after a crash
    /// between the statement and its record, or two processes migrating).
    pub adds_columns: Option<(&'static str, &'static [&'static str])>,
}

/// The comment line of a migration that runs only while these tables exist.
const ONLY_WHILE_PRESENT: &str = "-- only while present:";
/// The comment line of a migration that runs only while these tables do not exist.
const ONLY_WHILE_ABSENT: &str = "-- only while absent:";

impl Migration {
    /// The tables of a `-- only while present: a, b` comment line (for a
    /// statement not idempotent by itself: `RENAME TABLE`, a one-time copy,
    /// which runs only while the database is in the state it changes).
    pub fn only_while_present(&self) -> Vec<&'static str> {
        comment_list(self.sql, ONLY_WHILE_PRESENT)
    }

    /// The tables of a `-- only while absent: a, b` comment line.
    pub fn only_while_absent(&self) -> Vec<&'static str> {
        comment_list(self.sql, ONLY_WHILE_ABSENT)
    }
}

/// The comma-separated names of the comment line starting with `prefix`.
fn comment_list(sql: &'static str, prefix: &str) -> Vec<&'static str> {
    sql.lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .flat_map(|names| names.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// `migration!(7, "0007_name")`: version and file stem of `migrations/0007_name.sql`.
macro_rules! migration {
    ($version:expr, $file_stem:expr) => {
        Migration {
            version: $version,
            name: $file_stem,
            sql: include_str!(concat!("../migrations/", $file_stem, ".sql")),
            adds_columns: None,
        }
    };
    ($version:expr, $file_stem:expr, adds_columns: $table:expr, $columns:expr) => {
        Migration {
            adds_columns: Some(($table, $columns)),
            ..migration!($version, $file_stem)
        }
    };
}

/// Creates the table that records applied migrations.
pub(crate) const BOOTSTRAP: &str = include_str!("../migrations/0000_schema_migrations.sql");

/// All migrations in order. Numbers are never reused or renumbered: a
/// recorded version means applied, so renumbering would re-run or skip
/// statements on existing databases. They jump from 9 to 20 because the
/// serverless tables (4-9) and the chain index tables (20-23) were written
/// in parallel, each feature in its own range, and merged without
/// renumbering; later features get ranges of their own (30-39, 40-49,
/// 50-59, 60-69; the storage layout, spans stored once ordered by trace id
/// with span_index and trace_time_index, took 70-89, see
/// docs/architecture.md). Gaps are harmless: migrations apply in ascending
/// order and the applied version is the highest recorded.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_spans"),
    migration!(2, "0002_trace_spans"),
    migration!(3, "0003_trace_spans_mv"),
    migration!(4, "0004_invocations"),
    migration!(5, "0005_instance_first_starts"),
    migration!(6, "0006_instance_first_starts_mv"),
    migration!(7, "0007_platform_reports"),
    migration!(8, "0008_logs"),
    migration!(9, "0009_metric_points"),
    migration!(20, "0020_span_links_by_linked_trace"),
    migration!(21, "0021_span_links_by_linked_trace_mv"),
    migration!(22, "0022_messaging_spans"),
    migration!(23, "0023_messaging_spans_mv"),
    migration!(30, "0030_alert_events"),
    migration!(31, "0031_alert_delivery_attempts"),
    migration!(32, "0032_alert_silences"),
    migration!(
        40,
        "0040_platform_report_status",
        adds_columns: PLATFORM_REPORTS,
        &[
            "restore_duration_ms",
            "has_restore_duration",
            "billed_restore_duration_ms",
            "status",
            "error_type",
            "failed",
        ]
    ),
    migration!(70, "0070_drop_trace_spans_mv"),
    migration!(71, "0071_drop_span_links_mv"),
    migration!(72, "0072_drop_messaging_spans_mv"),
    migration!(73, "0073_rename_spans_by_service"),
    migration!(74, "0074_spans_by_trace"),
    migration!(75, "0075_span_index"),
    migration!(76, "0076_span_index_mv"),
    migration!(77, "0077_trace_time_index"),
    migration!(78, "0078_trace_time_index_mv"),
    migration!(79, "0079_copy_trace_spans"),
    migration!(80, "0080_span_links_by_linked_trace_mv"),
    migration!(81, "0081_messaging_spans_mv"),
    migration!(82, "0082_drop_trace_spans"),
    migration!(83, "0083_drop_spans_by_service"),
    migration!(84, "0084_invocation_facts"),
    migration!(85, "0085_invocation_facts_minutes"),
    migration!(86, "0086_invocation_settle_marks"),
    migration!(87, "0087_invocation_arrivals"),
    migration!(88, "0088_invocation_arrivals_mv"),
    migration!(89, "0089_report_arrivals_mv"),
    migration!(90, "0090_invocation_minutes"),
    migration!(91, "0091_leases"),
];

#[derive(clickhouse::Row, serde::Deserialize)]
struct VersionRow {
    version: u32,
}

#[derive(clickhouse::Row, serde::Serialize)]
struct MigrationRecord<'a> {
    version: u32,
    name: &'a str,
    applied_at: u32,
}

/// The highest applied migration version, 0 when none.
pub async fn applied_version(client: &Client) -> Result<u32, SchemaError> {
    Ok(applied_versions(client).await?.last().copied().unwrap_or(0))
}

/// Every applied migration version. Migrations are applied by set, not by
/// the highest number: one numbered below an applied one (from a branch
/// merged later) still runs.
pub async fn applied_versions(client: &Client) -> Result<BTreeSet<u32>, SchemaError> {
    let rows: Vec<VersionRow> = client
        .query(crate::sql::APPLIED_VERSION)
        .bind(clickhouse::sql::Identifier(SCHEMA_MIGRATIONS))
        .fetch_all()
        .await
        .map_err(SchemaError::query("read applied migrations"))?;
    Ok(rows.into_iter().map(|row| row.version).collect())
}

/// Migrations not applied yet.
pub async fn pending_migrations(client: &Client) -> Result<Vec<&'static Migration>, SchemaError> {
    let applied = applied_versions(client).await?;
    Ok(MIGRATIONS
        .iter()
        .filter(|migration| !applied.contains(&migration.version))
        .collect())
}

/// Applies every migration not recorded as applied, in order, to one
/// server. Idempotent. Returns the highest version the database is at afterwards.
pub async fn apply_migrations(client: &Client) -> Result<u32, SchemaError> {
    apply_migrations_in(client, &Layout::SingleNode).await
}

/// [`apply_migrations`] for `layout`: on a cluster, the same migrations
/// rendered by [`crate::cluster`], run `ON CLUSTER` from the node `client`
/// talks to. Several processes may migrate at once: every statement is
/// `IF NOT EXISTS`, and a column migration another process ran first is
/// recognised by its columns.
pub async fn apply_migrations_in(client: &Client, layout: &Layout) -> Result<u32, SchemaError> {
    let (bootstrap, rendered) = plan(layout)?;
    for statement in &bootstrap {
        execute(client, &statement.sql, "create schema_migrations").await?;
    }
    let applied = applied_versions(client).await?;
    let current = applied.last().copied().unwrap_or(0);
    for (migration, statements) in MIGRATIONS.iter().zip(&rendered) {
        if applied.contains(&migration.version) {
            continue;
        }
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applying migration"
        );
        if condition_holds(client, migration).await? {
            apply_statements(client, migration, statements).await?;
        }
        record(client, migration).await?;
    }
    Ok(MIGRATIONS
        .last()
        .map_or(current, |migration| migration.version.max(current)))
}

/// The bootstrap statements and those of each migration, for `layout`. On
/// one server they are the files as they are.
fn plan(layout: &Layout) -> Result<(Vec<Statement>, Vec<Vec<Statement>>), SchemaError> {
    match layout {
        Layout::SingleNode => {
            let bootstrap = vec![Statement {
                sql: BOOTSTRAP.to_owned(),
                alters: None,
            }];
            let migrations = MIGRATIONS
                .iter()
                .map(|migration| {
                    vec![Statement {
                        sql: migration.sql.to_owned(),
                        alters: migration.adds_columns.map(|(table, _)| table.to_owned()),
                    }]
                })
                .collect();
            Ok((bootstrap, migrations))
        }
        Layout::Cluster(cluster) => {
            let files: Vec<&str> = MIGRATIONS.iter().map(|migration| migration.sql).collect();
            crate::cluster::render_all(cluster, BOOTSTRAP, &files)
        }
    }
}

async fn execute(client: &Client, sql: &str, context: &str) -> Result<(), SchemaError> {
    client
        .query(sql)
        .execute()
        .await
        .map_err(SchemaError::query(context))
}

/// Runs one statement of `migration` unless its columns already exist; a
/// failure is no failure when another process added them meanwhile.
async fn apply_statement(
    client: &Client,
    migration: &Migration,
    statement: &Statement,
) -> Result<(), SchemaError> {
    if already_applied(client, migration, statement).await? {
        return Ok(());
    }
    let context = format!("migration {}", migration.name);
    match execute(client, &statement.sql, &context).await {
        Ok(()) => Ok(()),
        Err(error) if already_applied(client, migration, statement).await? => {
            tracing::info!(%error, "the columns were added by another process");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The statements of one migration, in order. A conditional migration
/// (`only while`) that fails once its condition no longer holds was run by
/// another process migrating at the same time.
async fn apply_statements(
    client: &Client,
    migration: &Migration,
    statements: &[Statement],
) -> Result<(), SchemaError> {
    let conditional =
        !migration.only_while_present().is_empty() || !migration.only_while_absent().is_empty();
    for statement in statements {
        match apply_statement(client, migration, statement).await {
            Ok(()) => {}
            Err(error) if conditional && run_elsewhere(client, migration).await? => {
                tracing::info!(%error, "the migration was run by another process");
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// How long a failed conditional migration waits for another process's run
/// of it to end: on a cluster its statements (a rename of the local tables,
/// then the `Distributed` table made again) leave the condition holding
/// between them.
const ANOTHER_RUN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the condition of `migration` stops holding within
/// [`ANOTHER_RUN_WAIT`]: another process ran it at the same time.
async fn run_elsewhere(client: &Client, migration: &Migration) -> Result<bool, SchemaError> {
    let deadline = tokio::time::Instant::now() + ANOTHER_RUN_WAIT;
    loop {
        if !condition_holds(client, migration).await? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn record(client: &Client, migration: &Migration) -> Result<(), SchemaError> {
    let mut insert = client
        .insert::<MigrationRecord<'_>>(SCHEMA_MIGRATIONS)
        .await
        .map_err(SchemaError::query("record migration"))?;
    insert
        .write(&MigrationRecord {
            version: migration.version,
            name: migration.name,
            applied_at: tracehouse_model::time::now_unix_seconds(),
        })
        .await
        .map_err(SchemaError::query("record migration"))?;
    insert
        .end()
        .await
        .map_err(SchemaError::query("record migration"))
}

/// A `count` answer.
#[derive(clickhouse::Row, serde::Deserialize)]
pub(crate) struct CountRow {
    pub(crate) count: u64,
}

/// Whether the schema change of `statement` is already there: true only for
/// column statements whose columns all exist on the table they alter.
async fn already_applied(
    client: &Client,
    migration: &Migration,
    statement: &Statement,
) -> Result<bool, SchemaError> {
    let (Some((_, columns)), Some(table)) = (migration.adds_columns, statement.alters.as_deref())
    else {
        return Ok(false);
    };
    let rows: Vec<CountRow> = client
        .query(crate::sql::EXISTING_COLUMNS)
        .bind(table)
        .bind(columns)
        .fetch_all()
        .await
        .map_err(SchemaError::query("read existing columns"))?;
    Ok(rows.first().map_or(0, |row| row.count) == columns.len() as u64)
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct NameRow {
    name: String,
}

/// Whether the tables of `migration`'s `only while` lines are as it
/// requires (true without such lines).
async fn condition_holds(client: &Client, migration: &Migration) -> Result<bool, SchemaError> {
    let (present, absent) = (
        migration.only_while_present(),
        migration.only_while_absent(),
    );
    if present.is_empty() && absent.is_empty() {
        return Ok(true);
    }
    let named: Vec<&str> = present.iter().chain(&absent).copied().collect();
    let rows: Vec<NameRow> = client
        .query(crate::sql::EXISTING_TABLES)
        .bind(named)
        .fetch_all()
        .await
        .map_err(SchemaError::query("read existing tables"))?;
    let exists = |table: &&str| rows.iter().any(|row| row.name == *table);
    Ok(present.iter().all(exists) && !absent.iter().any(exists))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement without its comment lines.
    fn without_comments(sql: &str) -> String {
        sql.lines()
            .filter(|line| !line.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn versions_increase_and_files_are_single_statements() {
        let mut previous = 0;
        for migration in MIGRATIONS {
            assert!(
                migration.version > previous,
                "{} out of order",
                migration.name
            );
            previous = migration.version;
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version)),
                "{}",
                migration.name
            );
            let code = without_comments(migration.sql);
            let body = code.trim().trim_end_matches(';');
            assert!(
                !body.contains(';'),
                "{} has more than one statement",
                migration.name
            );
        }
    }

    /// A migration file that is not listed in `MIGRATIONS` would never be
    /// applied (and the dialect check, which runs the list, would not see it).
    #[test]
    fn every_migration_file_is_registered() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&directory)
            .expect("the migrations directory")
            .map(|entry| entry.expect("a directory entry").file_name())
            .filter_map(|name| name.to_str()?.strip_suffix(".sql").map(str::to_owned))
            .filter(|stem| stem != "0000_schema_migrations")
            .collect();
        files.sort();
        let registered: Vec<String> = MIGRATIONS
            .iter()
            .map(|migration| migration.name.to_owned())
            .collect();
        assert_eq!(files, registered, "files in {directory:?} vs MIGRATIONS");
    }

    #[test]
    fn the_statements_that_are_not_idempotent_have_conditions() {
        for migration in MIGRATIONS {
            let code = without_comments(migration.sql);
            if code.contains("RENAME TABLE") || code.contains("INSERT INTO") {
                assert!(
                    !migration.only_while_present().is_empty(),
                    "{} runs without an `only while present` line",
                    migration.name
                );
            }
        }
        let rename = MIGRATIONS.iter().find(|m| m.version == 73).expect("73");
        assert_eq!(rename.only_while_present(), ["spans", "trace_spans"]);
        assert_eq!(
            rename.only_while_absent(),
            ["spans_by_service", "span_index"]
        );
    }

    #[test]
    fn column_migrations_name_every_column_they_add() {
        for migration in MIGRATIONS {
            let Some((table, columns)) = migration.adds_columns else {
                continue;
            };
            let code = without_comments(migration.sql);
            assert!(code.contains(&format!("ALTER TABLE {table}")));
            let added = code.matches("ADD COLUMN ").count();
            assert_eq!(added, columns.len(), "{}", migration.name);
            for column in columns {
                assert!(
                    code.contains(&format!("ADD COLUMN {column} ")),
                    "{} does not add {column}",
                    migration.name
                );
            }
        }
    }
}
