//! Every migration and query template runs on the live ClickHouse 18.16,
//! with the sample parameters its `-- params:` line gives (fragments inlined
//! and placeholders replaced by the query crate's template parser). The
//! same files run on current ClickHouse in `tests/dialect/check_dialect.py`
//! (chDB).

use tracehouse_tests::TestApp;

/// The sample row the chDB check inserts too.
const SAMPLE_SPAN: &str = "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, \
    duration_ns, trace_id, span_id, service, name, kind, status_code, attribute_keys, attribute_values, \
    attribute_types) VALUES ('default', now(), toUInt64(now()) * 1000000000, \
    toUInt64(now()) * 1000000000 + 5000000, 5000000, \
    toFixedString(unhex('0af7651916cd43dd8448eb211c80319c'), 16), toFixedString(unhex('b7ad6b7169203331'), 8), \
    'checkout', 'POST /pay', 'server', 'error', ['faas.coldstart'], ['true'], [1])";

#[derive(clickhouse::Row, serde::Deserialize)]
struct Count {
    count: u64,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_template_runs_on_clickhouse_18() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let client = app.clickhouse_client();
    client.query(SAMPLE_SPAN).execute().await?;
    let copied: Count = client
        .query("SELECT count() AS count FROM span_index")
        .fetch_one()
        .await?;
    assert_eq!(
        copied.count, 1,
        "the materialized view indexes spans into span_index"
    );
    assert!(!tracehouse_query::sql::all().is_empty());
    for template in tracehouse_query::sql::all() {
        let name = template.name;
        let variants = template
            .every_sample_sql()
            .unwrap_or_else(|| panic!("{name}: a placeholder has no sample in -- params:"));
        for sql in variants {
            let mut cursor = client.query(&sql).fetch_bytes("JSONEachRow")?;
            let bytes = cursor.collect().await;
            assert!(
                bytes.is_ok(),
                "{name} failed on 18.16: {:?}\n{sql}",
                bytes.err()
            );
        }
    }
    // Migrations are idempotent: applying them again changes nothing.
    let version = tracehouse_schema::apply_migrations(&client).await?;
    assert_eq!(
        Some(version),
        tracehouse_schema::MIGRATIONS
            .last()
            .map(|migration| migration.version)
    );
    app.stop().await
}
