//! Golden answers on ClickHouse 18.16: the scenario of
//! `tests/golden/scenario.sql` is loaded into a fresh database, every query
//! template runs with its `-- params:` samples, and each answer (TSV, rows
//! sorted) must equal `tests/golden/expected/<template>.tsv`, numbers within
//! a relative and absolute 1e-9. `tests/dialect/check_dialect.py` checks
//! the same files on ClickHouse 26.9, so both versions give the same answers.
//! `TRACEHOUSE_GOLDEN_UPDATE=1` rewrites the files (review the diff).

use std::collections::BTreeMap;
use std::path::PathBuf;
use tracehouse_schema::apply_migrations;

const TOLERANCE: f64 = 1e-9;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// The scenario's statements: one per line, comment lines skipped.
fn scenario_statements() -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(golden_dir().join("scenario.sql"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("--"))
        .map(|line| line.trim_end_matches(';').to_owned())
        .collect())
}

/// The answer as text: ASCII as is, every other byte as `\\xNN` (binary
/// ids come back raw), the same in the Python check.
fn ascii_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| {
            if byte.is_ascii() {
                char::from(*byte).to_string()
            } else {
                format!("\\x{byte:02x}")
            }
        })
        .collect()
}

/// Rows sorted, so that ties in a template's ORDER BY cannot differ.
fn sorted_rows(tsv: &str) -> Vec<String> {
    let mut rows: Vec<String> = tsv.lines().map(str::to_owned).collect();
    rows.sort();
    rows
}

fn same_number(left: &str, right: &str) -> bool {
    match (left.parse::<f64>(), right.parse::<f64>()) {
        (Ok(a), Ok(b)) => {
            (a.is_nan() && b.is_nan())
                || a == b
                || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
        }
        _ => false,
    }
}

/// Cells equal, numbers (also inside `[...]` arrays) within the tolerance.
fn same_cell(left: &str, right: &str) -> bool {
    if left == right || same_number(left, right) {
        return true;
    }
    let (Some(left), Some(right)) = (
        left.strip_prefix('[')
            .and_then(|cell| cell.strip_suffix(']')),
        right
            .strip_prefix('[')
            .and_then(|cell| cell.strip_suffix(']')),
    ) else {
        return false;
    };
    let (left, right): (Vec<&str>, Vec<&str>) =
        (left.split(',').collect(), right.split(',').collect());
    left.len() == right.len()
        && left
            .iter()
            .zip(&right)
            .all(|(a, b)| a == b || same_number(a, b))
}

fn same_row(left: &str, right: &str) -> bool {
    let (left, right): (Vec<&str>, Vec<&str>) =
        (left.split('\t').collect(), right.split('\t').collect());
    left.len() == right.len() && left.iter().zip(&right).all(|(a, b)| same_cell(a, b))
}

/// `None` when equal, else a line-by-line diff.
fn diff(expected: &[String], actual: &[String]) -> Option<String> {
    let equal =
        expected.len() == actual.len() && expected.iter().zip(actual).all(|(a, b)| same_row(a, b));
    if equal {
        return None;
    }
    let mut text = String::new();
    for index in 0..expected.len().max(actual.len()) {
        let (want, got) = (expected.get(index), actual.get(index));
        if want.zip(got).is_some_and(|(a, b)| same_row(a, b)) {
            continue;
        }
        text.push_str(&format!(
            "  row {index}\n    - {}\n    + {}\n",
            want.map_or("(none)", String::as_str),
            got.map_or("(none)", String::as_str)
        ));
    }
    Some(text)
}

/// Literals replacing samples of the templates, by placeholder name.
type Overrides = BTreeMap<&'static str, String>;

/// The answers that differ from the golden files of the templates that
/// bind one of `overrides` (all of them without overrides), with those
/// samples replaced, and those of `slots` too in templates over slots
/// (binding `slot_s`) of every trace; with `update`, writes the files instead. A template
/// that reads the clock has no golden answer.
async fn golden_failures(
    client: &clickhouse::Client,
    overrides: &Overrides,
    slots: &Overrides,
    update: bool,
) -> anyhow::Result<Vec<String>> {
    let mut failures = Vec::new();
    for template in tracehouse_query::sql::all() {
        let names = template.names();
        let mut overrides = overrides.clone();
        if names.contains_key("slot_s") && of_every_trace(template) {
            overrides.extend(slots.clone());
        }
        let overrides = &overrides;
        let bound = overrides.is_empty() || overrides.keys().any(|name| names.contains_key(name));
        if template.reads_clock() || !bound {
            continue;
        }
        let sql = template
            .sample_sql_with(overrides)
            .ok_or_else(|| anyhow::anyhow!("{}: a sample is missing", template.name))?;
        let mut cursor = client.query(&sql).fetch_bytes("TabSeparated")?;
        let bytes = cursor.collect().await?;
        let actual = sorted_rows(&ascii_text(&bytes));
        let path = golden_dir()
            .join("expected")
            .join(template.name.replace(".sql", ".tsv"));
        if update {
            std::fs::write(
                &path,
                actual
                    .iter()
                    .map(|row| format!("{row}\n"))
                    .collect::<String>(),
            )?;
            continue;
        }
        let expected = sorted_rows(&std::fs::read_to_string(&path).unwrap_or_default());
        if let Some(text) = diff(&expected, &actual) {
            failures.push(format!(
                "{} differs from {} ({overrides:?}):\n{text}",
                template.name,
                path.display()
            ));
        }
    }
    Ok(failures)
}

/// Whether the sample scope of `template` is every trace: only such a
/// scope sums settled minutes (`InvocationScope::slot_params_split`).
fn of_every_trace(template: &tracehouse_query::sql::Template) -> bool {
    template
        .samples()
        .get("all_traces")
        .is_none_or(|value| value.trim() == "1")
}

/// Runs the settler's writes with their samples and `overrides`.
async fn settle(client: &clickhouse::Client, overrides: &Overrides) -> anyhow::Result<()> {
    for template in tracehouse_query::sql::writes() {
        let sql = template
            .sample_sql_with(overrides)
            .ok_or_else(|| anyhow::anyhow!("{}: a sample is missing", template.name))?;
        client.query(&sql).execute().await?;
    }
    Ok(())
}

fn overrides(pairs: &[(&'static str, &str)]) -> Overrides {
    pairs
        .iter()
        .map(|(name, literal)| (*name, (*literal).to_owned()))
        .collect()
}

/// Every template gives its golden answer computed live; then again with
/// the scenario's window settled (the first half twice, under two
/// generations) and read settled up to its middle, and wholly settled:
/// the whole settled minutes summed per minute, and all from the rows.
#[tokio::test(flavor = "multi_thread")]
async fn every_template_gives_the_golden_answer() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let client = settings.client()?;
    apply_migrations(&client).await?;
    for statement in scenario_statements()? {
        client.query(&statement).execute().await?;
    }
    let update = std::env::var("TRACEHOUSE_GOLDEN_UPDATE").is_ok_and(|value| value == "1");
    let none = Overrides::new();
    let mut failures = golden_failures(&client, &none, &none, update).await?;
    if !update {
        settle(&client, &Overrides::new()).await?;
        let first_half = overrides(&[
            ("generation", "2"),
            ("to_s", "1700001780"),
            ("to_ns", "1700001780000000000"),
        ]);
        settle(&client, &first_half).await?;
        let generations: Vec<(u64, u64)> = client
            .query("SELECT generation, count() FROM invocation_facts GROUP BY generation ORDER BY generation")
            .fetch_all()
            .await?;
        let listed: u64 = client
            .query("SELECT uniqExact(generation) FROM invocation_facts_minutes")
            .fetch_one()
            .await?;
        let summed: u64 = client
            .query("SELECT uniqExact(generation) FROM invocation_minutes")
            .fetch_one()
            .await?;
        assert!(
            generations.len() == 2
                && generations.iter().all(|(_, rows)| *rows > 0)
                && listed == 2
                && summed == 2,
            "both generations hold facts and sums and are listed: {generations:?}, {listed}, {summed}"
        );
        // Split mid-window and at its end; the whole settled minutes summed
        // (from the first whole minute to the split's), or not at all.
        for (split, summed_to) in [
            ("1700001800", "1700001780"),
            ("1700003600", "1700003580"),
            ("1700003600", "1700003600"),
        ] {
            let split_ns = format!("{split}000000000");
            let summed_from = if summed_to == split {
                split
            } else {
                "1700000040"
            };
            let read = overrides(&[
                ("split_s", split),
                ("split_ns", &split_ns),
                ("rollup_from_s", split),
                ("rollup_to_s", split),
            ]);
            let slots = overrides(&[("rollup_from_s", summed_from), ("rollup_to_s", summed_to)]);
            failures.extend(golden_failures(&client, &read, &slots, false).await?);
        }
    }
    tracehouse_tests::drop_database(&settings).await?;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
