//! Silences: matchers on rule, function and labels, a start and an end.
//! While one matches a notification, the notification is recorded (as a
//! `silenced` delivery attempt) but not sent.

use crate::store::SilenceRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest silence accepted.
pub const MAX_SILENCE: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);
/// Longest comment kept.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// A silence, as the API takes and shows it. Empty matchers match anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339.
    pub ends_at: String,
    #[serde(default)]
    pub comment: String,
}

/// What a silence is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub rule: &'a str,
    pub function: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub at_unix_nano: u64,
}

/// Whether `silence` covers `target`.
pub fn matches(silence: &SilenceRow, target: Target<'_>) -> bool {
    let active = silence.starts_at_unix_nano <= target.at_unix_nano
        && target.at_unix_nano < silence.ends_at_unix_nano;
    let labels_match = silence
        .label_keys
        .iter()
        .zip(&silence.label_values)
        .all(|(key, value)| target.labels.get(key) == Some(value));
    active
        && (silence.rule.is_empty() || silence.rule == target.rule)
        && (silence.function.is_empty() || silence.function == target.function)
        && labels_match
}

/// A silence that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SilenceError(pub String);

fn parse_time(text: &str, field: &str) -> Result<u64, SilenceError> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|error| SilenceError(format!("{field}: {text:?} is not RFC 3339: {error}")))?;
    parsed
        .timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .ok_or_else(|| SilenceError(format!("{field}: {text:?} is out of range")))
}

/// Validates a silence from the API into a row, with a fresh id.
pub fn to_row(
    silence: &Silence,
    project: &str,
    now_unix_nano: u64,
) -> Result<SilenceRow, SilenceError> {
    let starts_at = match &silence.starts_at {
        Some(text) => parse_time(text, "starts_at")?,
        None => now_unix_nano,
    };
    let ends_at = parse_time(&silence.ends_at, "ends_at")?;
    if ends_at <= starts_at {
        return Err(SilenceError("ends_at: must be after starts_at".into()));
    }
    if ends_at - starts_at > u64::try_from(MAX_SILENCE.as_nanos()).unwrap_or(u64::MAX) {
        return Err(SilenceError(
            "ends_at: a silence lasts at most 366 days".into(),
        ));
    }
    if ends_at <= now_unix_nano {
        return Err(SilenceError("ends_at: must be in the future".into()));
    }
    if silence.comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(SilenceError("comment: at most 1000 characters".into()));
    }
    if silence.rule.is_empty() && silence.function.is_empty() && silence.labels.is_empty() {
        return Err(SilenceError(
            "matchers: give at least one of rule, function, labels".into(),
        ));
    }
    let id = crate::ids::short_hash(&[
        project,
        &silence.rule,
        &silence.function,
        &now_unix_nano.to_string(),
        &fastrand::u64(..).to_string(),
    ]);
    Ok(SilenceRow {
        project: project.to_owned(),
        id,
        created_unix_nano: now_unix_nano,
        starts_at_unix_nano: starts_at,
        ends_at_unix_nano: ends_at,
        rule: silence.rule.clone(),
        function: silence.function.clone(),
        label_keys: silence.labels.keys().cloned().collect(),
        label_values: silence.labels.values().cloned().collect(),
        comment: silence.comment.clone(),
    })
}

/// The API form of a stored silence.
pub fn from_row(row: &SilenceRow) -> Silence {
    Silence {
        id: row.id.clone(),
        rule: row.rule.clone(),
        function: row.function.clone(),
        labels: row
            .label_keys
            .iter()
            .cloned()
            .zip(row.label_values.iter().cloned())
            .collect(),
        starts_at: Some(crate::ids::rfc3339(row.starts_at_unix_nano)),
        ends_at: crate::ids::rfc3339(row.ends_at_unix_nano),
        comment: row.comment.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn silence(rule: &str, labels: &[(&str, &str)]) -> SilenceRow {
        to_row(
            &Silence {
                id: String::new(),
                rule: rule.to_owned(),
                function: String::new(),
                labels: labels
                    .iter()
                    .map(|(key, value)| (key.to_string(), value.to_string()))
                    .collect(),
                starts_at: None,
                ends_at: "2027-06-01T00:00:00Z".to_owned(),
                comment: "deploy".to_owned(),
            },
            "default",
            NOW,
        )
        .expect("valid")
    }

    #[test]
    fn matchers_rules_labels_and_time() {
        let labels = BTreeMap::from([("team".to_owned(), "payments".to_owned())]);
        let target = Target {
            rule: "checkout errors",
            function: "checkout",
            labels: &labels,
            at_unix_nano: NOW + 1,
        };
        assert!(matches(&silence("checkout errors", &[]), target));
        assert!(matches(&silence("", &[("team", "payments")]), target));
        assert!(!matches(&silence("other", &[]), target));
        assert!(!matches(&silence("", &[("team", "search")]), target));
        let before = Target {
            at_unix_nano: NOW - 1,
            ..target
        };
        assert!(!matches(&silence("checkout errors", &[]), before));
    }

    #[test]
    fn bad_silences_say_which_field() {
        let mut body = from_row(&silence("r", &[]));
        body.ends_at = "tomorrow".to_owned();
        let error = to_row(&body, "default", NOW).expect_err("bad time");
        assert!(error.0.starts_with("ends_at:"), "{error}");
        body.ends_at = "2027-06-01T00:00:00Z".to_owned();
        body.rule = String::new();
        let error = to_row(&body, "default", NOW).expect_err("no matcher");
        assert!(error.0.starts_with("matchers:"), "{error}");
    }
}
