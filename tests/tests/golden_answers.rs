//! Golden answers on ClickHouse 18.16: the scenario of
//! `tests/golden/scenario.sql` is loaded into a fresh database, every query
//! template runs with its `-- params:` samples, and each answer (TSV, rows
//! sorted) must equal `tests/golden/expected/<template>.tsv`, numbers within
//! a relative and absolute 1e-9. `tests/dialect/check_dialect.py` checks
//! the same files on ClickHouse 26.9, so both versions give the same answers.
//! `TRACEHOUSE_GOLDEN_UPDATE=1` rewrites the files (review the diff).

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

#[tokio::test(flavor = "multi_thread")]
async fn every_template_gives_the_golden_answer() -> anyhow::Result<()> {
    let settings = tracehouse_tests::fresh_database().await?;
    let client = settings.client()?;
    apply_migrations(&client).await?;
    for statement in scenario_statements()? {
        client.query(&statement).execute().await?;
    }
    let update = std::env::var("TRACEHOUSE_GOLDEN_UPDATE").is_ok_and(|value| value == "1");
    let mut failures = Vec::new();
    for template in tracehouse_query::sql::all() {
        let sql = template
            .sample_sql()
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
                "{} differs from {}:\n{text}",
                template.name,
                path.display()
            ));
        }
    }
    tracehouse_tests::drop_database(&settings).await?;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
