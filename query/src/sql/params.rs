//! Values bound to a template's named placeholders.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A value for one placeholder; its variant is the placeholder's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    UInt8(u8),
    UInt32(u32),
    UInt64(u64),
    Strings(Vec<String>),
}

impl Value {
    /// The ClickHouse type a placeholder of this value declares.
    pub fn clickhouse_type(&self) -> &'static str {
        match self {
            Self::String(_) => "String",
            Self::UInt8(_) => "UInt8",
            Self::UInt32(_) => "UInt32",
            Self::UInt64(_) => "UInt64",
            Self::Strings(_) => "Array(String)",
        }
    }
}

/// Serialized as the inner value, which is what the clickhouse crate binds.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(text) => text.serialize(serializer),
            Self::UInt8(number) => number.serialize(serializer),
            Self::UInt32(number) => number.serialize(serializer),
            Self::UInt64(number) => number.serialize(serializer),
            Self::Strings(texts) => texts.serialize(serializer),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::String(text)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Self::UInt8(u8::from(flag))
    }
}

impl From<u32> for Value {
    fn from(number: u32) -> Self {
        Self::UInt32(number)
    }
}

impl From<u64> for Value {
    fn from(number: u64) -> Self {
        Self::UInt64(number)
    }
}

impl From<Vec<String>> for Value {
    fn from(texts: Vec<String>) -> Self {
        Self::Strings(texts)
    }
}

/// Named values for a template, set with [`Params::set`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<&'static str, Value>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` (a later value replaces an earlier one).
    pub fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.values.insert(name, value.into());
        self
    }

    /// Every value of `other` too.
    pub fn with(mut self, other: Params) -> Self {
        self.values.extend(other.values);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The names set, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }
}
