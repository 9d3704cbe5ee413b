//! Markup the charts produce, and the one escaping rule for text in it.

use std::fmt;

/// Finished chart markup (escaped already), placed in a template with `|safe`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Svg(pub String);

impl fmt::Display for Svg {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl Svg {
    /// The markup as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text made safe for HTML and SVG, in element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A coordinate with at most two decimals.
pub(crate) fn coordinate(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    let rounded = (value * 100.0).round() / 100.0;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape("<svg onload=\"x\">&'"),
            "&lt;svg onload=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(coordinate(1.23456), "1.23");
        assert_eq!(coordinate(f64::INFINITY), "0");
    }
}
