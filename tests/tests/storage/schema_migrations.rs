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

#[derive(clickhouse::Row, serde::Deserialize)]
struct Count {
    count: u64,
}

async fn count(client: &clickhouse::Client, sql: &str) -> anyhow::Result<u64> {
    let rows: Vec<Count> = client.query(sql).fetch_all().await?;
    Ok(rows.first().map_or(0, |row| row.count))
}

/// A database of the layout before migration 70 (spans ordered by service
/// and their copy in trace_spans): after the migrations its spans are in
/// the new spans table once each, indexed, and the link and message
/// indexes are neither lost nor doubled; migrating again changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn spans_stored_before_the_trace_ordered_layout_stay_readable() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let client = settings.client()?;
    for migration in MIGRATIONS.iter().filter(|migration| migration.version < 70) {
        client.query(migration.sql).execute().await?;
    }
    // 300 spans in 30 traces over three days; each trace's third span links
    // to the previous trace and carries a message id.
    client
        .query(
            "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns, \
             trace_id, span_id, service, name, kind, status_code, attribute_keys, attribute_values, attribute_types, \
             link_trace_ids, link_span_ids, link_trace_states, link_attributes) \
             SELECT 'default', toDateTime(toUInt32(now()) - intDiv(number, 100) * 86400), \
             (toUInt64(now()) - intDiv(number, 100) * 86400) * 1000000000 + number, \
             (toUInt64(now()) - intDiv(number, 100) * 86400) * 1000000000 + number + 1000, 1000, \
             toFixedString(reinterpretAsString(cityHash64(intDiv(number, 10))), 16), \
             toFixedString(reinterpretAsString(cityHash64(number)), 8), \
             concat('service-', toString(intDiv(number, 10) % 3)), concat('op-', toString(number % 10)), \
             if(number % 10 = 2, 'consumer', 'internal'), 'unset', \
             if(number % 10 = 2, ['messaging.message.id'], emptyArrayString()), \
             if(number % 10 = 2, [concat('m-', toString(number))], emptyArrayString()), \
             if(number % 10 = 2, [0], emptyArrayUInt8()), \
             arrayFilter(x -> number % 10 = 2, [toFixedString(reinterpretAsString(cityHash64(intDiv(number, 10) + 1)), 16)]), \
             arrayFilter(x -> number % 10 = 2, [toFixedString(reinterpretAsString(cityHash64(number + 10)), 8)]), \
             if(number % 10 = 2, [''], emptyArrayString()), \
             if(number % 10 = 2, ['{}'], emptyArrayString()) \
             FROM numbers(300)",
        )
        .execute()
        .await?;
    assert_eq!(
        count(&client, "SELECT count() AS count FROM trace_spans").await?,
        300
    );
    let links = "SELECT count() AS count FROM span_links_by_linked_trace";
    let messages = "SELECT count() AS count FROM messaging_spans";
    assert_eq!(count(&client, links).await?, 30);
    assert_eq!(count(&client, messages).await?, 30);

    for round in 0..2 {
        apply_migrations(&client).await?;
        for (sql, expected) in [
            ("SELECT count() AS count FROM spans", 300),
            ("SELECT count() AS count FROM span_index", 300),
            (
                "SELECT uniqExact(trace_id) AS count FROM trace_time_index",
                30,
            ),
            (links, 30),
            (messages, 30),
            (
                "SELECT count() AS count FROM system.tables WHERE database = currentDatabase() \
                 AND name IN ('trace_spans', 'spans_by_service', 'trace_spans_mv')",
                0,
            ),
        ] {
            assert_eq!(count(&client, sql).await?, expected, "round {round}: {sql}");
        }
        client
            .query("DROP TABLE schema_migrations")
            .execute()
            .await?;
    }
    // A span ingested after the change reaches every index once.
    client
        .query(
            "INSERT INTO spans (project, timestamp, start_time_unix_nano, trace_id, span_id, service, name) \
             VALUES ('default', now(), toUInt64(now()) * 1000000000, toFixedString('0123456789abcdef', 16), \
             toFixedString('01234567', 8), 'late', 'op')",
        )
        .execute()
        .await?;
    assert_eq!(
        count(&client, "SELECT count() AS count FROM span_index").await?,
        301
    );
    assert_eq!(count(&client, "SELECT count() AS count FROM trace_time_index WHERE trace_id = toFixedString('0123456789abcdef', 16)").await?, 1);
    tracehouse_tests::drop_database(&settings).await?;
    Ok(())
}
