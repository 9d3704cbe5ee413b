//! Notification bodies and their signature. The Tracehouse body is the
//! stored form of every notification (its JSON schema is
//! `docs/alert-webhook.schema.json`); the Alertmanager (version 4) and
//! Slack bodies are derived from it when sending.

use crate::config::Format;
use crate::signal::Signal;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Header with `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Tracehouse-Signature";
/// Header with the delivery id, the same on every retry.
pub const DELIVERY_HEADER: &str = "X-Tracehouse-Delivery";
/// Header with the attempt's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "X-Tracehouse-Timestamp";
/// Alertmanager's "no end yet".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Whether a notification announces an alert or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// The Tracehouse webhook body (`format = "tracehouse"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always `"1"`.
    pub version: String,
    pub status: Status,
    pub rule: String,
    pub severity: String,
    pub labels: BTreeMap<String, String>,
    /// The function of the group; null for a rule over all functions.
    pub function: Option<String>,
    pub signal: Signal,
    /// The value that fired or resolved; null without data.
    pub value: Option<f64>,
    pub threshold: f64,
    /// The rule's window, e.g. `5m`.
    pub window: String,
    pub started_at: String,
    pub resolved_at: Option<String>,
    pub fingerprint: String,
    pub summary: String,
    pub sample_trace_ids: Vec<String>,
    pub dashboard_url: String,
}

/// The body sent to a receiver of `format`.
pub fn body(format: Format, notification: &Notification, receiver: &str) -> Vec<u8> {
    let value = match format {
        Format::Tracehouse => serde_json::to_value(notification).unwrap_or(Value::Null),
        Format::Alertmanager => alertmanager(notification, receiver),
        Format::Slack => slack(notification),
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` under `secret` (constant time).
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn labels_of(notification: &Notification) -> BTreeMap<String, String> {
    let mut labels = notification.labels.clone();
    labels.insert("alertname".to_owned(), notification.rule.clone());
    labels.insert("severity".to_owned(), notification.severity.clone());
    labels.insert("signal".to_owned(), notification.signal.name());
    if let Some(function) = &notification.function {
        labels.insert("function".to_owned(), function.clone());
    }
    labels
}

/// The dashboard's base URL: `dashboard_url` up to `/alerts`.
fn external_url(notification: &Notification) -> &str {
    let url = notification.dashboard_url.as_str();
    url.find("/alerts").map_or(url, |end| &url[..end])
}

fn alertmanager(notification: &Notification, receiver: &str) -> Value {
    let labels = labels_of(notification);
    let annotations = json!({
        "summary": notification.summary,
        "value": notification.value.map(|value| value.to_string()).unwrap_or_default(),
        "threshold": notification.threshold.to_string(),
        "sample_trace_ids": notification.sample_trace_ids.join(","),
    });
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname={:?}}}", notification.rule),
        "truncatedAlerts": 0,
        "status": notification.status.as_str(),
        "receiver": receiver,
        "groupLabels": { "alertname": notification.rule },
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url(notification),
        "alerts": [{
            "status": notification.status.as_str(),
            "labels": labels,
            "annotations": annotations,
            "startsAt": notification.started_at,
            "endsAt": notification.resolved_at.as_deref().unwrap_or(ZERO_TIME),
            "generatorURL": notification.dashboard_url,
            "fingerprint": notification.fingerprint,
        }],
    })
}

fn slack(notification: &Notification) -> Value {
    let (marker, status) = match notification.status {
        Status::Firing => (":red_circle:", "FIRING"),
        Status::Resolved => (":large_green_circle:", "RESOLVED"),
    };
    let base = external_url(notification);
    let traces: Vec<String> = notification
        .sample_trace_ids
        .iter()
        .map(|trace| {
            let short: String = trace.chars().take(8).collect();
            format!("<{base}/traces/{trace}|{short}>")
        })
        .collect();
    let mut text = format!(
        "{marker} *{status}* {} ({})\n{}\n<{}|Open in Tracehouse>",
        notification.rule, notification.severity, notification.summary, notification.dashboard_url
    );
    if !traces.is_empty() {
        text.push_str(&format!("\nSample traces: {}", traces.join(", ")));
    }
    json!({ "text": text })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Notification {
        Notification {
            version: "1".to_owned(),
            status: Status::Firing,
            rule: "checkout errors".to_owned(),
            severity: "critical".to_owned(),
            labels: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
            function: Some("checkout".to_owned()),
            signal: Signal::ErrorRate,
            value: Some(0.5),
            threshold: 0.05,
            window: "5m".to_owned(),
            started_at: "2026-01-01T00:00:00.000Z".to_owned(),
            resolved_at: None,
            fingerprint: "f".repeat(32),
            summary: "error_rate of checkout is 0.5 (> 0.05 over 5m)".to_owned(),
            sample_trace_ids: vec!["4bf92f3577b34da6a3ce929d0e0e4736".to_owned()],
            dashboard_url: "http://127.0.0.1:8080/alerts?rule=checkout%20errors".to_owned(),
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        let signature = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify("Jefe", b"what do ya want for nothing?", &signature));
        assert!(!verify("Jefe", b"what do ya want for nothing!", &signature));
        assert!(!verify(
            "other",
            b"what do ya want for nothing?",
            &signature
        ));
        assert!(!verify("Jefe", b"", "md5=00"));
    }

    #[test]
    fn the_tracehouse_body_has_every_field() {
        let body: Value =
            serde_json::from_slice(&body(Format::Tracehouse, &sample(), "ops")).expect("json");
        for field in [
            "version",
            "status",
            "rule",
            "severity",
            "labels",
            "function",
            "signal",
            "value",
            "threshold",
            "window",
            "started_at",
            "resolved_at",
            "fingerprint",
            "summary",
            "sample_trace_ids",
            "dashboard_url",
        ] {
            assert!(body.get(field).is_some(), "{field} missing from {body}");
        }
        assert_eq!(body["status"], "firing");
        assert_eq!(body["signal"], "error_rate");
        assert_eq!(body["resolved_at"], Value::Null);
        let round_trip: Notification = serde_json::from_value(body).expect("parses back");
        assert_eq!(round_trip, sample());
    }

    #[test]
    fn alertmanager_v4_shape() {
        let mut notification = sample();
        notification.status = Status::Resolved;
        notification.resolved_at = Some("2026-01-01T00:05:00.000Z".to_owned());
        let body: Value = serde_json::from_slice(&body(Format::Alertmanager, &notification, "ops"))
            .expect("json");
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], "resolved");
        assert_eq!(body["receiver"], "ops");
        assert_eq!(body["externalURL"], "http://127.0.0.1:8080");
        let alert = &body["alerts"][0];
        assert_eq!(alert["labels"]["alertname"], "checkout errors");
        assert_eq!(alert["labels"]["team"], "payments");
        assert_eq!(alert["labels"]["function"], "checkout");
        assert_eq!(alert["endsAt"], "2026-01-01T00:05:00.000Z");
        assert_eq!(alert["fingerprint"], "f".repeat(32));
        let firing: Value = serde_json::from_slice(&body_of(Format::Alertmanager)).expect("json");
        assert_eq!(firing["alerts"][0]["endsAt"], ZERO_TIME);
    }

    fn body_of(format: Format) -> Vec<u8> {
        body(format, &sample(), "ops")
    }

    #[test]
    fn slack_gets_text_with_links() {
        let body: Value = serde_json::from_slice(&body_of(Format::Slack)).expect("json");
        let text = body["text"].as_str().expect("text");
        assert!(text.contains("*FIRING* checkout errors"), "{text}");
        assert!(
            text.contains(
                "<http://127.0.0.1:8080/traces/4bf92f3577b34da6a3ce929d0e0e4736|4bf92f35>"
            ),
            "{text}"
        );
    }
}
