//! Migrations on the live 18.16 server: re-applying them after losing their
//! records (a crash between a statement and its record, or two processes
//! migrating at once) leaves the same schema, column migrations included
//! (18.16 has no `ADD COLUMN IF NOT EXISTS`).

use tracehouse_schema::{apply_migrations, MIGRATIONS};

#[derive(clickhouse::Row, serde::Deserialize)]
struct Column {
    name: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_reapply_after_their_records_are_lost() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let client = settings.client()?;
    let latest = MIGRATIONS.last().map_or(0, |migration| migration.version);
    assert_eq!(apply_migrations(&client).await?, latest);
    client
        .query("DROP TABLE schema_migrations")
        .execute()
        .await?;
    assert_eq!(apply_migrations(&client).await?, latest, "re-applied");
    let columns: Vec<Column> = client
        .query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() \
             AND table = 'platform_reports' ORDER BY name",
        )
        .fetch_all()
        .await?;
    let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    for column in ["restore_duration_ms", "status", "error_type", "failed"] {
        assert!(names.contains(&column), "{column} in {names:?}");
    }
    tracehouse_tests::drop_database(&settings).await?;
    Ok(())
}
