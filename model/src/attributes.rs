//! Typed attribute values, as OpenTelemetry defines them.

use serde_json::{Map, Number, Value};

/// One attribute value. Mirrors OTLP's `AnyValue` without its protobuf types.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// A UTF-8 string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A double-precision float.
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An ordered list of values.
    Array(Vec<AttributeValue>),
    /// A list of key/value pairs (a map that keeps its order).
    KvList(Vec<(String, AttributeValue)>),
    /// An explicitly empty value.
    Empty,
}

impl AttributeValue {
    /// The JSON form the query API returns: strings, numbers and booleans as
    /// themselves, bytes as lowercase hex, arrays and key/value lists nested.
    /// Non-finite doubles, which JSON cannot hold, become strings ("NaN", "inf").
    pub fn to_json(&self) -> Value {
        match self {
            Self::String(text) => Value::String(text.clone()),
            Self::Bool(flag) => Value::Bool(*flag),
            Self::Int(number) => Value::Number((*number).into()),
            Self::Double(number) => Number::from_f64(*number)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(number.to_string())),
            Self::Bytes(bytes) => Value::String(hex::encode(bytes)),
            Self::Array(values) => Value::Array(values.iter().map(Self::to_json).collect()),
            Self::KvList(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_json()))
                    .collect::<Map<_, _>>(),
            ),
            Self::Empty => Value::Null,
        }
    }

    /// The value as a plain string, for filtering and display: strings as
    /// themselves, scalars in their usual text form, the rest as JSON.
    pub fn to_plain_string(&self) -> String {
        match self {
            Self::String(text) => text.clone(),
            Self::Bool(flag) => flag.to_string(),
            Self::Int(number) => number.to_string(),
            Self::Double(number) => number.to_string(),
            Self::Empty => String::new(),
            other => other.to_json().to_string(),
        }
    }
}

/// An ordered list of attributes. Duplicate keys are kept as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(pub Vec<(String, AttributeValue)>);

impl Attributes {
    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// The first value under `key` when it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(AttributeValue::String(text)) => Some(text),
            _ => None,
        }
    }

    /// Iterates over the pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = &(String, AttributeValue)> {
        self.0.iter()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A JSON object of the attributes; a later duplicate key wins.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(key, value)| (key.clone(), value.to_json()))
                .collect::<Map<_, _>>(),
        )
    }
}

impl FromIterator<(String, AttributeValue)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (String, AttributeValue)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_keeps_types() {
        let attributes: Attributes = vec![
            ("s".to_owned(), AttributeValue::String("x".to_owned())),
            ("b".to_owned(), AttributeValue::Bool(true)),
            ("i".to_owned(), AttributeValue::Int(-7)),
            ("d".to_owned(), AttributeValue::Double(1.5)),
            ("nan".to_owned(), AttributeValue::Double(f64::NAN)),
            ("bytes".to_owned(), AttributeValue::Bytes(vec![0xde, 0xad])),
            (
                "arr".to_owned(),
                AttributeValue::Array(vec![
                    AttributeValue::Int(1),
                    AttributeValue::String("a".to_owned()),
                ]),
            ),
            (
                "kv".to_owned(),
                AttributeValue::KvList(vec![("k".to_owned(), AttributeValue::Bool(false))]),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            attributes.to_json(),
            json!({"s": "x", "b": true, "i": -7, "d": 1.5, "nan": "NaN", "bytes": "dead",
                   "arr": [1, "a"], "kv": {"k": false}})
        );
        assert_eq!(attributes.get_str("s"), Some("x"));
        assert_eq!(attributes.get_str("i"), None);
    }
}
