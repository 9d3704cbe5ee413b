//! Every migration and query template runs on the live ClickHouse 18.16,
//! with the sample parameters its `-- params:` line gives. The same files
//! run on current ClickHouse in `tests/dialect/check_dialect.py` (chDB).

use tracehouse_tests::TestApp;

/// The sample row the chDB check inserts too.
const SAMPLE_SPAN: &str = "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, \
    duration_ns, trace_id, span_id, service, name, kind, status_code, attribute_keys, attribute_values, \
    attribute_types) VALUES ('default', now(), toUInt64(now()) * 1000000000, \
    toUInt64(now()) * 1000000000 + 5000000, 5000000, \
    toFixedString(unhex('0af7651916cd43dd8448eb211c80319c'), 16), toFixedString(unhex('b7ad6b7169203331'), 8), \
    'checkout', 'POST /pay', 'server', 'error', ['faas.coldstart'], ['true'], [1])";

/// Splits `a, 'b,c', [1, 2]` on top-level commas.
fn split_literals(text: &str) -> Vec<String> {
    let (mut parts, mut current) = (Vec::new(), String::new());
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for character in text.chars() {
        if quoted {
            current.push(character);
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '\'' {
                quoted = false;
            }
            continue;
        }
        match character {
            '\'' => quoted = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// The template with `?fields` as `*` and every other `?` replaced by its sample literal.
fn bind_samples(template: &str) -> String {
    let params = template
        .lines()
        .find_map(|line| line.trim().strip_prefix("-- params:"))
        .map(split_literals)
        .unwrap_or_default();
    // Comment lines carry no placeholders (and may hold apostrophes).
    let code: Vec<&str> = template
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect();
    let mut bound = String::new();
    let (mut quoted, mut next) = (false, 0);
    for character in code.join("\n").replace("?fields", "*").chars() {
        if character == '\'' {
            quoted = !quoted;
        }
        if character == '?' && !quoted {
            bound.push_str(params.get(next).map(String::as_str).unwrap_or("NULL"));
            next += 1;
        } else {
            bound.push(character);
        }
    }
    assert_eq!(
        next,
        params.len(),
        "placeholders and -- params disagree in:\n{template}"
    );
    bound
}

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
        .query("SELECT count() AS count FROM trace_spans")
        .fetch_one()
        .await?;
    assert_eq!(
        copied.count, 1,
        "the materialized view copies spans into trace_spans"
    );
    assert!(!tracehouse_query::sql::all().is_empty());
    for (name, template) in tracehouse_query::sql::all() {
        let sql = bind_samples(template);
        let mut cursor = client.query(&sql).fetch_bytes("JSONEachRow")?;
        let bytes = cursor.collect().await;
        assert!(
            bytes.is_ok(),
            "{name} failed on 18.16: {:?}\n{sql}",
            bytes.err()
        );
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
