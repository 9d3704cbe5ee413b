//! How typed attributes are stored: parallel arrays of keys, values as text,
//! and type codes, which both old and new ClickHouse can filter on
//! (`attribute_values[indexOf(attribute_keys, 'k')]`).

use serde_json::Value;
use tracehouse_model::{AttributeValue, Attributes};

/// Type code of a stored attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TypeCode {
    String = 0,
    Bool = 1,
    Int = 2,
    Double = 3,
    /// Lowercase hex.
    Bytes = 4,
    /// JSON array.
    Array = 5,
    /// JSON object.
    KvList = 6,
    Empty = 7,
}

/// Stored columns of one attribute list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedAttributes {
    pub keys: Vec<String>,
    pub values: Vec<String>,
    pub types: Vec<u8>,
}

/// Encodes one value to its text and type code.
pub fn encode_value(value: &AttributeValue) -> (String, TypeCode) {
    match value {
        AttributeValue::String(text) => (text.clone(), TypeCode::String),
        AttributeValue::Bool(flag) => (flag.to_string(), TypeCode::Bool),
        AttributeValue::Int(number) => (number.to_string(), TypeCode::Int),
        // Rust prints the shortest text that parses back to the same f64.
        AttributeValue::Double(number) => (number.to_string(), TypeCode::Double),
        AttributeValue::Bytes(bytes) => (hex::encode(bytes), TypeCode::Bytes),
        AttributeValue::Array(_) => (value.to_json().to_string(), TypeCode::Array),
        AttributeValue::KvList(_) => (value.to_json().to_string(), TypeCode::KvList),
        AttributeValue::Empty => (String::new(), TypeCode::Empty),
    }
}

/// Encodes a whole attribute list.
pub fn encode(attributes: &Attributes) -> EncodedAttributes {
    let mut encoded = EncodedAttributes {
        keys: Vec::with_capacity(attributes.len()),
        values: Vec::with_capacity(attributes.len()),
        types: Vec::with_capacity(attributes.len()),
    };
    for (key, value) in attributes.iter() {
        let (text, code) = encode_value(value);
        encoded.keys.push(key.clone());
        encoded.values.push(text);
        encoded.types.push(code as u8);
    }
    encoded
}

/// The JSON value of one stored value, as the APIs return it.
/// Text that does not parse as its type is returned as a string, never lost.
pub fn decode_value_to_json(text: &str, type_code: u8) -> Value {
    let parsed = match type_code {
        1 => text.parse::<bool>().ok().map(Value::Bool),
        2 => text
            .parse::<i64>()
            .ok()
            .map(|number| Value::Number(number.into())),
        3 => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        5 | 6 => serde_json::from_str(text).ok(),
        7 => Some(Value::Null),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// A JSON object from stored parallel arrays; a later duplicate key wins.
pub fn decode_to_json(keys: &[String], values: &[String], types: &[u8]) -> Value {
    Value::Object(
        keys.iter()
            .zip(values)
            .zip(types.iter().chain(std::iter::repeat(&0)))
            .map(|((key, text), code)| (key.clone(), decode_value_to_json(text, *code)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_type_to_json() {
        let attributes: Attributes = vec![
            ("s".to_owned(), AttributeValue::String("héllo".to_owned())),
            ("b".to_owned(), AttributeValue::Bool(false)),
            ("i".to_owned(), AttributeValue::Int(i64::MIN)),
            ("d".to_owned(), AttributeValue::Double(0.1)),
            ("nan".to_owned(), AttributeValue::Double(f64::NAN)),
            ("bytes".to_owned(), AttributeValue::Bytes(vec![1, 255])),
            (
                "a".to_owned(),
                AttributeValue::Array(vec![AttributeValue::Double(2.5)]),
            ),
            (
                "kv".to_owned(),
                AttributeValue::KvList(vec![("x".to_owned(), AttributeValue::Int(1))]),
            ),
            ("e".to_owned(), AttributeValue::Empty),
        ]
        .into_iter()
        .collect();
        let encoded = encode(&attributes);
        assert_eq!(encoded.values[2], "-9223372036854775808");
        let decoded = decode_to_json(&encoded.keys, &encoded.values, &encoded.types);
        assert_eq!(
            decoded,
            json!({"s": "héllo", "b": false, "i": i64::MIN, "d": 0.1, "nan": "NaN",
                   "bytes": "01ff", "a": [2.5], "kv": {"x": 1}, "e": null})
        );
        assert_eq!(decoded, attributes.to_json());
    }
}
