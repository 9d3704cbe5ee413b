//! OTLP/JSON bodies for tests that send what a collector would, field by
//! field, and a POST to the OTLP/HTTP receiver.

use crate::TestApp;
use serde_json::{json, Value};

/// A key/value attribute of OTLP/JSON.
pub fn attribute(key: &str, value: Value) -> Value {
    json!({"key": key, "value": any_value(&value)})
}

/// A plain JSON value as an OTLP/JSON `AnyValue` (objects as key/value lists).
pub fn any_value(value: &Value) -> Value {
    match value {
        Value::Object(fields) => json!({"kvlistValue": {"values": fields
            .iter()
            .map(|(key, value)| attribute(key, value.clone()))
            .collect::<Vec<_>>()}}),
        Value::String(text) => json!({"stringValue": text}),
        Value::Number(number) if number.is_i64() => json!({"intValue": number.to_string()}),
        Value::Number(number) => json!({"doubleValue": number.as_f64()}),
        Value::Bool(flag) => json!({"boolValue": flag}),
        other => json!({"stringValue": other.to_string()}),
    }
}

/// POSTs `body` as JSON to `path` of the OTLP/HTTP receiver; the response
/// body when the answer is 200, else an error naming the status.
pub async fn post(app: &TestApp, path: &str, body: &Value) -> anyhow::Result<Value> {
    let response = app
        .http
        .post(format!("{}{path}", app.otlp_http_url()))
        .json(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(response.json().await?)
}

/// The entry of `name` in a `GET /api/v1/functions` answer.
pub fn listed_function<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["functions"]
        .as_array()?
        .iter()
        .find(|function| function["function"] == name)
}

/// Asserts that a JSON number is `expected` within a relative 1e-9.
pub fn assert_close(actual: &Value, expected: f64, what: &str) {
    let number = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!(
        (number - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{what}: {number} != {expected}"
    );
}
