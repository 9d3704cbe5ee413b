//! A histogram of two populations side by side per bin (cold and warm
//! latency), bins labelled by their upper bound.

use super::svg::{coordinate, escape};
use super::{data_table, nice_ceiling, Svg, Unit};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
/// Room for the count axis label up to `100,000`.
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// One bin: its upper bound and the count of each population.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramBin {
    pub upper_bound: f64,
    pub counts: Vec<u64>,
}

/// The histogram of `bins` with one label per population; bounds in `unit`.
pub fn histogram(title: &str, labels: &[&str], bins: &[HistogramBin], unit: Unit) -> Svg {
    let max = bins
        .iter()
        .flat_map(|bin| bin.counts.iter().copied())
        .max()
        .unwrap_or(0);
    let top = nice_ceiling(max as f64);
    let slot = (WIDTH - LEFT) / bins.len().max(1) as f64;
    let bar_width = (slot - 4.0) / labels.len().max(1) as f64;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let mut body = format!(
        "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{base}\" y2=\"{base}\"/>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        LEFT - 4.0,
        TOP + 8.0,
        escape(&Unit::Count.format(top)),
        base = HEIGHT - BOTTOM,
    );
    if bins.is_empty() {
        body.push_str("<text class=\"axis\" x=\"300\" y=\"90\" text-anchor=\"middle\">No invocations in this time range</text>");
    }
    let mut rows = Vec::new();
    for (index, bin) in bins.iter().enumerate() {
        let left = LEFT + index as f64 * slot + 2.0;
        let bound = unit.format(bin.upper_bound);
        for (population, count) in bin.counts.iter().enumerate() {
            let height = *count as f64 / top * plot_height;
            let label = labels.get(population).copied().unwrap_or("");
            body.push_str(&format!(
                "<rect class=\"bar series-{population}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                coordinate(left + population as f64 * bar_width),
                coordinate(HEIGHT - BOTTOM - height),
                coordinate(bar_width.max(1.0)),
                coordinate(height),
                escape(&format!("{label}, up to {bound}: {count}"))
            ));
        }
        body.push_str(&format!(
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">≤{}</text>",
            coordinate(left + slot / 2.0 - 2.0),
            HEIGHT - 6.0,
            escape(&bound)
        ));
        let mut row = vec![format!("≤ {bound}")];
        row.extend(bin.counts.iter().map(u64::to_string));
        rows.push(row);
    }
    let mut headers = vec!["bin".to_owned()];
    headers.extend(labels.iter().map(|label| (*label).to_owned()));
    let legend: String = labels
        .iter()
        .enumerate()
        .map(|(index, label)| {
            format!(
                "<li><svg class=\"swatch\" viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect class=\"bar series-{index}\" width=\"10\" height=\"10\"/></svg>{}</li>",
                escape(label)
            )
        })
        .collect();
    Svg(format!(
        "<figure class=\"chart\"><figcaption>{title}</figcaption>\
         <svg class=\"plot\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title}\">\
         <title>{title}</title>{body}</svg><ul class=\"legend\">{legend}</ul>{table}</figure>",
        title = escape(title),
        table = data_table(title, &headers, &rows),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_population_has_a_bar_per_bin() {
        let bins = vec![
            HistogramBin {
                upper_bound: 8.0,
                counts: vec![0, 10],
            },
            HistogramBin {
                upper_bound: 512.0,
                counts: vec![3, 1],
            },
        ];
        let svg = histogram("Latency", &["cold", "warm"], &bins, Unit::Ms);
        let text = svg.as_str();
        assert!(
            text.contains("<title>cold, up to 512 ms: 3</title>"),
            "{text}"
        );
        assert!(text.contains("<title>warm, up to 8.0 ms: 10</title>"));
        assert_eq!(text.matches("<rect class=\"bar").count(), 4 + 2);
        assert!(text.contains("<td>≤ 512 ms</td><td>3</td><td>1</td>"));
    }

    #[test]
    fn empty_says_so() {
        let svg = histogram("Latency", &["cold", "warm"], &[], Unit::Ms);
        assert!(svg.as_str().contains("No invocations in this time range"));
    }
}
