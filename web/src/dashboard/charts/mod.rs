//! Charts drawn on the server as inline SVG: pure functions from numbers to
//! markup. Every point and bar carries its exact value in an SVG `<title>`,
//! every chart has a text alternative (a `<desc>` summary and a
//! visually-hidden data table), and every text is escaped. Colours come from
//! CSS classes (`series-0` ...), so themes apply and no `style` attribute
//! is needed under the page's Content-Security-Policy.

mod bars;
mod histogram;
mod sparkline;
mod svg;
mod time;

pub use bars::{bars, Bar};
pub use histogram::{histogram, HistogramBin};
pub use sparkline::sparkline;
pub use svg::{escape, Svg};
pub use time::{time_chart, Series, TimeChart, TimeKind};

use super::format;

/// What a chart's values measure, for labels and titles; in dashboard
/// files `count`, `ms`, `usd` or `percent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Ms,
    Usd,
    /// A ratio shown as a percentage.
    #[serde(rename = "percent")]
    Ratio,
}

impl Unit {
    /// One value, written exactly enough to read.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Count => {
                if value.fract() == 0.0 && value >= 0.0 {
                    format::count(value as u64)
                } else {
                    format!("{value:.2}")
                }
            }
            Unit::Ms => format::ms(Some(value)),
            Unit::Usd => format::usd(Some(value)),
            Unit::Ratio => format::percent(value),
        }
    }
}

impl Unit {
    /// A value on an axis: as [`Unit::format`], dollars without trailing zeros.
    pub fn axis_label(self, value: f64) -> String {
        let text = self.format(value);
        if self != Unit::Usd || !text.contains('.') {
            return text;
        }
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A maximum rounded up to 1, 2 or 5 times a power of ten, for axes.
pub(crate) fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if value <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// The visually-hidden table that is a chart's text alternative.
pub(crate) fn data_table(caption: &str, headers: &[String], rows: &[Vec<String>]) -> String {
    let mut html = format!(
        "<table class=\"sr-only\"><caption>{}</caption><thead><tr>",
        escape(caption)
    );
    for header in headers {
        html.push_str(&format!("<th scope=\"col\">{}</th>", escape(header)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(13.0), 20.0);
        assert_eq!(nice_ceiling(0.03), 0.05);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(Unit::Usd.axis_label(0.00001), "$0.00001");
        assert_eq!(Unit::Usd.axis_label(2.5), "$2.5");
        assert_eq!(Unit::Count.axis_label(10.0), "10");
    }

    #[test]
    fn tables_escape_their_cells() {
        let html = data_table(
            "<svg onload=alert(1)>",
            &["time".to_owned()],
            &[vec!["</script>\"'".to_owned()]],
        );
        assert!(!html.contains("<svg"));
        assert!(!html.contains("</script>"));
        assert!(html.contains("&lt;/script&gt;&quot;&#39;"));
    }
}
