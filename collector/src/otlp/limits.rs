//! Per-span limits applied while converting: attributes per span, the
//! length of a value, how deeply values nest, events and links per span.
//! What a limit cuts is dropped from the span (and added to its
//! `dropped_*_count` where OTLP has one) and tallied by limit; the span
//! itself is kept.

use crate::config::SpanLimits;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use tracehouse_model::{AttributeValue, Attributes};

/// Which limit cut part of a span. The text is a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    AttributesPerSpan,
    AttributeValueLength,
    ValueDepth,
    EventsPerSpan,
    LinksPerSpan,
}

impl Truncation {
    /// Label and message text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AttributesPerSpan => "attributes_per_span",
            Self::AttributeValueLength => "attribute_value_length",
            Self::ValueDepth => "value_depth",
            Self::EventsPerSpan => "events_per_span",
            Self::LinksPerSpan => "links_per_span",
        }
    }
}

/// Counts by kind, in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally<K>(pub Vec<(K, u64)>);

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: Copy + PartialEq> Tally<K> {
    /// Adds `count` to `kind`.
    pub fn add(&mut self, kind: K, count: u64) {
        if count == 0 {
            return;
        }
        match self.0.iter_mut().find(|(existing, _)| *existing == kind) {
            Some((_, total)) => *total += count,
            None => self.0.push((kind, count)),
        }
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, count)| count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Applies [`SpanLimits`] and tallies what they cut.
pub struct Limiter<'a> {
    pub limits: &'a SpanLimits,
    pub cut: &'a mut Tally<Truncation>,
}

impl Limiter<'_> {
    /// The first `max_attributes_per_span` attributes, converted; returns
    /// them and how many were dropped.
    pub fn attributes(&mut self, attributes: Vec<KeyValue>) -> (Attributes, u32) {
        let dropped = attributes
            .len()
            .saturating_sub(self.limits.max_attributes_per_span);
        self.cut.add(Truncation::AttributesPerSpan, dropped as u64);
        let kept = attributes
            .into_iter()
            .take(self.limits.max_attributes_per_span)
            .map(|pair| (pair.key, self.value(pair.value, 0)))
            .collect();
        (kept, u32::try_from(dropped).unwrap_or(u32::MAX))
    }

    /// Keeps the first `max` items of `items`; returns how many were dropped.
    pub fn keep_first<T>(&mut self, items: &mut Vec<T>, max: usize, kind: Truncation) -> u32 {
        let dropped = items.len().saturating_sub(max);
        items.truncate(max);
        self.cut.add(kind, dropped as u64);
        u32::try_from(dropped).unwrap_or(u32::MAX)
    }

    /// Converts one value found `depth` containers deep.
    fn value(&mut self, value: Option<AnyValue>, depth: usize) -> AttributeValue {
        let Some(inner) = value.and_then(|value| value.value) else {
            return AttributeValue::Empty;
        };
        let is_container = matches!(
            inner,
            any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_)
        );
        if is_container && depth >= self.limits.max_value_depth {
            self.cut.add(Truncation::ValueDepth, 1);
            return AttributeValue::Empty;
        }
        match inner {
            any_value::Value::StringValue(mut text) => {
                if truncate_text(&mut text, self.limits.max_attribute_value_bytes) {
                    self.cut.add(Truncation::AttributeValueLength, 1);
                }
                AttributeValue::String(text)
            }
            any_value::Value::BytesValue(mut bytes) => {
                if bytes.len() > self.limits.max_attribute_value_bytes {
                    bytes.truncate(self.limits.max_attribute_value_bytes);
                    self.cut.add(Truncation::AttributeValueLength, 1);
                }
                AttributeValue::Bytes(bytes)
            }
            any_value::Value::ArrayValue(array) => AttributeValue::Array(
                array
                    .values
                    .into_iter()
                    .map(|value| self.value(Some(value), depth + 1))
                    .collect(),
            ),
            any_value::Value::KvlistValue(list) => AttributeValue::KvList(
                list.values
                    .into_iter()
                    .map(|pair| (pair.key, self.value(pair.value, depth + 1)))
                    .collect(),
            ),
            other => super::convert::convert_any_value(Some(AnyValue { value: Some(other) })),
        }
    }
}

/// Cuts `text` to at most `max_bytes` bytes at a character boundary;
/// whether it was cut.
pub fn truncate_text(text: &mut String, max_bytes: usize) -> bool {
    if text.len() <= max_bytes {
        return false;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn text(value: &str) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }
    }

    fn array(values: Vec<AnyValue>) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
        }
    }

    fn pair(key: &str, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(value),
            ..Default::default()
        }
    }

    fn limits() -> SpanLimits {
        SpanLimits {
            max_attributes_per_span: 2,
            max_attribute_value_bytes: 4,
            max_value_depth: 2,
            ..SpanLimits::default()
        }
    }

    #[test]
    fn cuts_count_length_and_depth_and_tallies_them() {
        let limits = limits();
        let mut cut = Tally::default();
        let mut limiter = Limiter {
            limits: &limits,
            cut: &mut cut,
        };
        let deep = array(vec![array(vec![array(vec![text("x")])])]);
        let (attributes, dropped) = limiter.attributes(vec![
            pair("long", text("héllo")),
            pair("deep", deep),
            pair("extra", text("y")),
        ]);
        assert_eq!(dropped, 1);
        assert_eq!(attributes.get_str("long"), Some("hél"));
        assert_eq!(
            attributes.get("deep"),
            Some(&AttributeValue::Array(vec![AttributeValue::Array(vec![
                AttributeValue::Empty
            ])]))
        );
        assert_eq!(
            cut.0,
            vec![
                (Truncation::AttributesPerSpan, 1),
                (Truncation::AttributeValueLength, 1),
                (Truncation::ValueDepth, 1),
            ]
        );
    }

    #[test]
    fn keeps_values_within_limits_unchanged() {
        let limits = limits();
        let mut cut = Tally::default();
        let mut limiter = Limiter {
            limits: &limits,
            cut: &mut cut,
        };
        let list = AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![pair("a", text("1234"))],
            })),
        };
        let (attributes, dropped) = limiter.attributes(vec![pair("list", list)]);
        assert_eq!(dropped, 0);
        assert!(cut.is_empty());
        assert_eq!(
            attributes.get("list"),
            Some(&AttributeValue::KvList(
                vec![("a".to_owned(), AttributeValue::String("1234".to_owned()))]
                    .into_iter()
                    .collect()
            ))
        );
    }
}
