//! Horizontal bars: one labelled bar per item, longest first as given.

use super::svg::{coordinate, escape};
use super::{data_table, Svg, Unit};

const WIDTH: f64 = 600.0;
const ROW: f64 = 22.0;
const LABEL: f64 = 200.0;
const VALUE: f64 = 90.0;

/// One bar; `href` makes it a link.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub href: Option<String>,
}

/// Bars scaled to the largest value, with labels and values as text.
pub fn bars(title: &str, items: &[Bar], unit: Unit) -> Svg {
    let max = items
        .iter()
        .map(|bar| bar.value)
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    let height = (items.len().max(1) as f64) * ROW;
    let mut body = String::new();
    if items.is_empty() {
        body.push_str("<text class=\"axis\" x=\"0\" y=\"15\">No data in this time range</text>");
    }
    for (index, bar) in items.iter().enumerate() {
        let y = index as f64 * ROW;
        let value = if bar.value.is_finite() {
            bar.value
        } else {
            0.0
        };
        let length = if max > 0.0 {
            (value / max * (WIDTH - LABEL - VALUE)).max(1.0)
        } else {
            1.0
        };
        let formatted = escape(&unit.format(value));
        let label = escape(&bar.label);
        let row = format!(
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"bar series-{}\" x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{label}: {formatted}</title></rect>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{formatted}</text>",
            LABEL - 6.0,
            coordinate(y + 15.0),
            index % 6,
            coordinate(y + 4.0),
            coordinate(length),
            ROW - 8.0,
            coordinate(LABEL + length + 4.0),
            coordinate(y + 15.0),
        );
        match &bar.href {
            Some(href) => body.push_str(&format!("<a href=\"{}\">{row}</a>", escape(href))),
            None => body.push_str(&row),
        }
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|bar| vec![bar.label.clone(), unit.format(bar.value)])
        .collect();
    Svg(format!(
        "<figure class=\"chart\"><figcaption>{title}</figcaption>\
         <svg class=\"plot\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title}\">\
         <title>{title}</title>{body}</svg>{table}</figure>",
        title = escape(title),
        table = data_table(title, &["item".to_owned(), "value".to_owned()], &rows),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_largest_and_links_when_asked() {
        let svg = bars(
            "Cost",
            &[
                Bar {
                    label: "<svg onload=x>".to_owned(),
                    value: 2.0,
                    href: Some("/functions/a?x=1&y=2".to_owned()),
                },
                Bar {
                    label: "b".to_owned(),
                    value: 1.0,
                    href: None,
                },
            ],
            Unit::Usd,
        );
        let text = svg.as_str();
        assert!(text.contains("width=\"310\""), "{text}");
        assert!(text.contains("width=\"155\""));
        assert!(text.contains("href=\"/functions/a?x=1&amp;y=2\""));
        assert!(text.contains("&lt;svg onload=x&gt;: $2.00"));
        assert!(!text.contains("<svg onload"));
    }

    #[test]
    fn empty_says_so() {
        assert!(bars("x", &[], Unit::Count)
            .as_str()
            .contains("No data in this time range"));
    }
}
