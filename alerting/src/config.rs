//! The `[alerts]` section of the configuration file.
//!
//! Parsing is per rule and per receiver: an invalid rule is reported with
//! its name and the field at fault, and every valid rule keeps running.
//! The file structs mirror the TOML (`deny_unknown_fields`); [`Rule`] and
//! [`Receiver`] are their validated forms.

use crate::signal::{NoData, Op, Scope, Signal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How often rules are evaluated when `interval` is not given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// How long a firing alert waits before its notification is sent again.
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);
/// Timeout of one delivery attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery is retried before it is given up.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(3600);
/// Shortest evaluation interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// `[alerts]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsFile {
    /// How often rules are evaluated (default 30s).
    interval: Option<String>,
    /// Resend a still-firing alert after this long (default 4h).
    repeat_interval: Option<String>,
    /// Base URL of the dashboard in notifications (default: the HTTP address).
    external_url: Option<String>,
    /// `/metrics` URLs of collectors in other processes, for `rejected_spans`.
    collector_metrics_urls: Option<Vec<String>>,
    #[serde(default)]
    receivers: Vec<toml::Value>,
    #[serde(default)]
    rules: Vec<toml::Value>,
}

/// One `[[alerts.receivers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverFile {
    name: String,
    url: String,
    secret: Option<String>,
    format: Option<String>,
    timeout: Option<String>,
    give_up_after: Option<String>,
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    signal: String,
    function: Option<String>,
    group_by: Option<String>,
    op: String,
    threshold: f64,
    window: String,
    #[serde(rename = "for")]
    for_duration: Option<String>,
    keep_firing_for: Option<String>,
    no_data: Option<String>,
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    receivers: Vec<String>,
    repeat_interval: Option<String>,
}

/// Body format of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Tracehouse's own body (`docs/alert-webhook.schema.json`).
    Tracehouse,
    /// Prometheus Alertmanager webhook, version 4.
    Alertmanager,
    /// Slack incoming webhook message.
    Slack,
}

/// A validated receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub name: String,
    pub url: String,
    /// HMAC-SHA256 key; no signature header without it.
    pub secret: Option<String>,
    pub format: Format,
    pub attempt_timeout: Duration,
    pub give_up_after: Duration,
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    pub signal: Signal,
    pub scope: Scope,
    pub op: Op,
    pub threshold: f64,
    #[serde(with = "duration_text")]
    pub window: Duration,
    #[serde(rename = "for", with = "duration_text")]
    pub for_duration: Duration,
    #[serde(with = "duration_text")]
    pub keep_firing_for: Duration,
    pub no_data: NoData,
    pub severity: String,
    pub labels: BTreeMap<String, String>,
    pub receivers: Vec<String>,
    #[serde(with = "duration_text")]
    pub repeat_interval: Duration,
}

/// A rule or receiver that was rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// `rule "name"`, `receiver "name"` or `alerts`.
    pub item: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.item, self.message)
    }
}

/// The effective `[alerts]` section: what runs, and what was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub interval: Duration,
    pub repeat_interval: Duration,
    pub external_url: Option<String>,
    pub collector_metrics_urls: Vec<String>,
    pub receivers: Vec<Receiver>,
    pub rules: Vec<Rule>,
    pub problems: Vec<ConfigProblem>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            external_url: None,
            collector_metrics_urls: Vec::new(),
            receivers: Vec::new(),
            rules: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// The whole section cannot be used (its own keys are wrong, or the file is unreadable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SectionError(pub String);

impl AlertsConfig {
    /// Reads the `[alerts]` section of the TOML file at `path` (none: no alerts).
    pub fn load(path: &Path) -> Result<Self, SectionError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| SectionError(format!("cannot read {}: {error}", path.display())))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|error| SectionError(format!("{}: {error}", path.display())))?;
        match table.get("alerts") {
            None => Ok(Self::default()),
            Some(toml::Value::Table(section)) => Self::from_table(section),
            Some(_) => Err(SectionError("alerts: must be a table".to_owned())),
        }
    }

    /// Parses the section; rules and receivers that fail are listed in `problems`.
    pub fn from_table(section: &toml::Table) -> Result<Self, SectionError> {
        let file: AlertsFile = toml::Value::Table(section.clone())
            .try_into()
            .map_err(|error| SectionError(format!("alerts: {error}")))?;
        let mut config = Self {
            interval: optional_duration(file.interval.as_deref(), "interval", DEFAULT_INTERVAL)
                .map_err(|message| SectionError(format!("alerts: {message}")))?,
            repeat_interval: optional_duration(
                file.repeat_interval.as_deref(),
                "repeat_interval",
                DEFAULT_REPEAT_INTERVAL,
            )
            .map_err(|message| SectionError(format!("alerts: {message}")))?,
            external_url: file.external_url,
            collector_metrics_urls: file.collector_metrics_urls.unwrap_or_default(),
            ..Self::default()
        };
        if config.interval < MIN_INTERVAL {
            return Err(SectionError(
                "alerts: interval: must be at least 100ms".into(),
            ));
        }
        for value in &file.receivers {
            match parse_receiver(value) {
                Ok(receiver) if config.receivers.iter().any(|r| r.name == receiver.name) => config
                    .problems
                    .push(problem("receiver", &receiver.name, "name: used twice")),
                Ok(receiver) => config.receivers.push(receiver),
                Err(found) => config.problems.push(found),
            }
        }
        for value in &file.rules {
            match parse_rule(value, &config) {
                Ok(rule) if config.rules.iter().any(|r| r.name == rule.name) => config
                    .problems
                    .push(problem("rule", &rule.name, "name: used twice")),
                Ok(rule) => config.rules.push(rule),
                Err(found) => config.problems.push(found),
            }
        }
        Ok(config)
    }

    /// The receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|receiver| receiver.name == name)
    }
}

fn problem(kind: &str, name: &str, message: &str) -> ConfigProblem {
    ConfigProblem {
        item: format!("{kind} {name:?}"),
        message: message.to_owned(),
    }
}

/// The `name` of an entry, or its position when it has none.
fn entry_name(value: &toml::Value, fallback_index: usize) -> String {
    value
        .get("name")
        .and_then(toml::Value::as_str)
        .map_or_else(|| format!("#{}", fallback_index + 1), str::to_owned)
        .chars()
        .take(200)
        .collect::<String>()
        .replace('\n', " ")
}

/// Deserializes an entry through TOML text, so errors show the offending key.
fn entry<T: serde::de::DeserializeOwned>(value: &toml::Value) -> Result<T, String> {
    let text = toml::to_string(value).map_err(|error| error.to_string())?;
    toml::from_str(&text).map_err(|error| error.message().to_owned())
}

fn parse_receiver(value: &toml::Value) -> Result<Receiver, ConfigProblem> {
    let name = entry_name(value, 0);
    let fail = |message: String| problem("receiver", &name, &message);
    let file: ReceiverFile = entry(value).map_err(fail)?;
    if !(file.url.starts_with("http://") || file.url.starts_with("https://")) {
        return Err(fail("url: must start with http:// or https://".into()));
    }
    let format = match file.format.as_deref() {
        None | Some("tracehouse") => Format::Tracehouse,
        Some("alertmanager") => Format::Alertmanager,
        Some("slack") => Format::Slack,
        Some(other) => {
            return Err(fail(format!(
                "format: {other:?} is not tracehouse, alertmanager or slack"
            )))
        }
    };
    Ok(Receiver {
        attempt_timeout: optional_duration(
            file.timeout.as_deref(),
            "timeout",
            DEFAULT_ATTEMPT_TIMEOUT,
        )
        .map_err(fail)?,
        give_up_after: optional_duration(
            file.give_up_after.as_deref(),
            "give_up_after",
            DEFAULT_GIVE_UP_AFTER,
        )
        .map_err(fail)?,
        name: file.name,
        url: file.url,
        secret: file.secret.filter(|secret| !secret.is_empty()),
        format,
    })
}

fn parse_rule(value: &toml::Value, config: &AlertsConfig) -> Result<Rule, ConfigProblem> {
    let name = entry_name(value, config.rules.len() + config.problems.len());
    let fail = |message: String| problem("rule", &name, &message);
    let file: RuleFile = entry(value).map_err(fail)?;
    let signal = Signal::parse(&file.signal).ok_or_else(|| {
        fail(format!(
            "signal: unknown signal {:?}, expected one of {}",
            file.signal,
            Signal::NAMES
        ))
    })?;
    let op = Op::parse(&file.op)
        .ok_or_else(|| fail(format!("op: {:?} is not one of >, >=, <, <=", file.op)))?;
    let no_data = match file.no_data.as_deref() {
        None => NoData::Ok,
        Some(text) => NoData::parse(text)
            .ok_or_else(|| fail(format!("no_data: {text:?} is not ok, firing or nodata")))?,
    };
    let scope = match (file.function, file.group_by.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(fail("group_by: cannot be combined with function".into()))
        }
        (Some(function), None) if function.is_empty() => {
            return Err(fail("function: must not be empty".into()))
        }
        (Some(function), None) => Scope::Function(function),
        (None, Some("function")) => Scope::EachFunction,
        (None, Some(other)) => {
            return Err(fail(format!("group_by: {other:?} is not \"function\"")))
        }
        (None, None) => Scope::All,
    };
    signal.check_scope(&scope).map_err(fail)?;
    if !file.threshold.is_finite() {
        return Err(fail("threshold: must be a finite number".into()));
    }
    let window = duration(&file.window).map_err(|message| fail(format!("window: {message}")))?;
    if window.is_zero() {
        return Err(fail("window: must be longer than 0s".into()));
    }
    if let Some(unknown) = file
        .receivers
        .iter()
        .find(|name| config.receiver(name).is_none())
    {
        return Err(fail(format!("receivers: no receiver named {unknown:?}")));
    }
    Ok(Rule {
        for_duration: optional_duration(file.for_duration.as_deref(), "for", Duration::ZERO)
            .map_err(fail)?,
        keep_firing_for: optional_duration(
            file.keep_firing_for.as_deref(),
            "keep_firing_for",
            Duration::ZERO,
        )
        .map_err(fail)?,
        repeat_interval: optional_duration(
            file.repeat_interval.as_deref(),
            "repeat_interval",
            config.repeat_interval,
        )
        .map_err(fail)?,
        name: file.name,
        signal,
        scope,
        op,
        threshold: file.threshold,
        window,
        no_data,
        severity: file.severity.unwrap_or_else(|| "warning".to_owned()),
        labels: file.labels,
        receivers: file.receivers,
    })
}

fn optional_duration(text: Option<&str>, key: &str, default: Duration) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(text) => duration(text).map_err(|message| format!("{key}: {message}")),
    }
}

/// Parses `250ms`, `30s`, `5m`, `2h` or `1d` (the one duration parser of the model crate).
pub fn duration(text: &str) -> Result<Duration, String> {
    tracehouse_model::duration::parse_duration_nanos(text).map(Duration::from_nanos)
}

/// Formats a duration the way [`duration`] reads it.
pub fn format_duration(value: Duration) -> String {
    let millis = value.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    for (size, unit) in units {
        if millis >= size && millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    if millis == 0 {
        "0s".to_owned()
    } else {
        format!("{millis}ms")
    }
}

mod duration_text {
    pub fn serialize<S: serde::Serializer>(
        value: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: &str = r#"
[alerts]
interval = "30s"

[[alerts.receivers]]
name = "ops"
url = "https://hooks.example.com/tracehouse"
secret = "s3cret"
format = "tracehouse"

[[alerts.rules]]
name = "checkout errors"
signal = "error_rate"
function = "checkout"
op = ">"
threshold = 0.05
window = "5m"
for = "1m"
keep_firing_for = "2m"
no_data = "ok"
severity = "critical"
labels = { team = "payments" }
receivers = ["ops"]
"#;

    fn section(text: &str) -> toml::Table {
        let table: toml::Table = toml::from_str(text).expect("toml");
        table["alerts"].as_table().expect("table").clone()
    }

    #[test]
    fn the_issue_contract_parses() {
        let config = AlertsConfig::from_table(&section(CONTRACT)).expect("valid");
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        let rule = &config.rules[0];
        assert_eq!(rule.signal, Signal::ErrorRate);
        assert_eq!(rule.scope, Scope::Function("checkout".into()));
        assert_eq!(rule.op, Op::Greater);
        assert_eq!(rule.window, Duration::from_secs(300));
        assert_eq!(rule.for_duration, Duration::from_secs(60));
        assert_eq!(rule.keep_firing_for, Duration::from_secs(120));
        assert_eq!(rule.labels["team"], "payments");
        assert_eq!(config.receivers[0].secret.as_deref(), Some("s3cret"));
    }

    #[test]
    fn an_invalid_rule_names_itself_and_the_field_and_spares_the_others() {
        let text = format!(
            "{CONTRACT}\n[[alerts.rules]]\nname = \"typo\"\nsignal = \"eror_rate\"\nop = \">\"\nthreshold = 1\nwindow = \"1m\"\nreceivers = [\"ops\"]\n\
             [[alerts.rules]]\nname = \"bad key\"\nsignal = \"errors\"\nop = \">\"\nthreshold = 1\nwindow = \"1m\"\nreceivers = [\"ops\"]\nthreshhold = 2\n\
             [[alerts.rules]]\nname = \"bad window\"\nsignal = \"errors\"\nop = \">\"\nthreshold = 1\nwindow = \"soon\"\nreceivers = [\"ops\"]\n"
        );
        let config = AlertsConfig::from_table(&section(&text)).expect("section valid");
        assert_eq!(config.rules.len(), 1);
        let messages: Vec<String> = config.problems.iter().map(ToString::to_string).collect();
        assert!(
            messages[0].starts_with("rule \"typo\": signal:"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("rule \"bad key\"") && messages[1].contains("threshhold"),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with("rule \"bad window\": window:"),
            "{messages:?}"
        );
    }

    #[test]
    fn scope_rules_are_checked() {
        let base = "[[alerts.receivers]]\nname = \"ops\"\nurl = \"http://x\"\n[[alerts.rules]]\nop = \">\"\nthreshold = 1\nwindow = \"1m\"\nreceivers = [\"ops\"]\n";
        for (extra, field) in [
            ("name = \"a\"\nsignal = \"p95_ms\"\n", "p95_ms"),
            (
                "name = \"b\"\nsignal = \"rejected_spans\"\nfunction = \"f\"\n",
                "function",
            ),
            (
                "name = \"c\"\nsignal = \"errors\"\ngroup_by = \"region\"\n",
                "group_by",
            ),
        ] {
            let text = format!("[alerts]\n{base}{extra}");
            let config = AlertsConfig::from_table(&section(&text)).expect("section");
            assert!(config.rules.is_empty(), "{extra}");
            assert!(
                config.problems[0].to_string().contains(field),
                "{:?}",
                config.problems
            );
        }
    }

    #[test]
    fn durations_round_trip() {
        for text in ["250ms", "0s", "30s", "5m", "2h", "1d"] {
            assert_eq!(format_duration(duration(text).expect(text)), text);
        }
        assert!(duration("5").is_err());
        assert!(duration("m").is_err());
        assert!(duration("10y").is_err());
        assert!(duration("99999999999d").is_err());
    }
}
