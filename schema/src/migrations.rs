//! Numbered schema migrations, applied at startup.
//!
//! Each migration is one statement in `schema/migrations/NNNN_name.sql`.
//! Statements use `IF NOT EXISTS`, so two processes migrating at once, or a
//! crash between a statement and its record, leave a consistent schema.

use crate::error::SchemaError;
use crate::tables::SCHEMA_MIGRATIONS;
use clickhouse::Client;

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Increasing number; recorded once applied.
    pub version: u32,
    /// File name without the extension.
    pub name: &'static str,
    /// The statement.
    pub sql: &'static str,
}

/// `migration!(7, "0007_name")`: version and file stem of `migrations/0007_name.sql`.
macro_rules! migration {
    ($version:expr, $file_stem:expr) => {
        Migration {
            version: $version,
            name: $file_stem,
            sql: include_str!(concat!("../migrations/", $file_stem, ".sql")),
        }
    };
}

/// Creates the table that records applied migrations.
const BOOTSTRAP: &str = include_str!("../migrations/0000_schema_migrations.sql");

/// All migrations in order. Numbers are never reused or renumbered: a
/// recorded version means applied, so renumbering would re-run or skip
/// statements on existing databases. They jump from 9 to 20 because the
/// serverless tables (4-9) and the chain index tables (20-23) were written
/// in parallel, each feature in its own range, and merged without
/// renumbering; later features get ranges of their own (30-39, 40-49,
/// 50-59). Gaps are harmless: migrations apply in ascending order and the
/// applied version is the highest recorded.
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
    let rows: Vec<VersionRow> = client
        .query("SELECT max(version) AS version FROM ?")
        .bind(clickhouse::sql::Identifier(SCHEMA_MIGRATIONS))
        .fetch_all()
        .await
        .map_err(SchemaError::query("read applied migrations"))?;
    Ok(rows.first().map_or(0, |row| row.version))
}

/// Applies every migration newer than the recorded version. Idempotent.
/// Returns the version the database is at afterwards.
pub async fn apply_migrations(client: &Client) -> Result<u32, SchemaError> {
    client
        .query(BOOTSTRAP)
        .execute()
        .await
        .map_err(SchemaError::query("create schema_migrations"))?;
    let current = applied_version(client).await?;
    for migration in MIGRATIONS
        .iter()
        .filter(|migration| migration.version > current)
    {
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applying migration"
        );
        client
            .query(migration.sql)
            .execute()
            .await
            .map_err(SchemaError::query(format!(
                "migration {:04}_{}",
                migration.version, migration.name
            )))?;
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
            .map_err(SchemaError::query("record migration"))?;
    }
    Ok(MIGRATIONS
        .last()
        .map_or(current, |migration| migration.version.max(current)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let code: String = migration
                .sql
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            let body = code.trim().trim_end_matches(';');
            assert!(
                !body.contains(';'),
                "{} has more than one statement",
                migration.name
            );
        }
    }
}
