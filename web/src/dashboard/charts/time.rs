//! Charts over time: lines (gaps where a value is unknown) or stacked bars.
//! The plot carries its time range in `data-` attributes, which the page
//! script uses to zoom the time range by dragging.

use super::svg::{coordinate, escape};
use super::{data_table, format, nice_ceiling, Svg, Unit};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

/// How the series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKind {
    Line,
    Stacked,
}

/// One named series, a value (or unknown) per bucket.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// A chart over buckets of equal length.
#[derive(Debug, Clone)]
pub struct TimeChart {
    pub title: String,
    pub unit: Unit,
    pub kind: TimeKind,
    /// Bucket starts, Unix milliseconds, oldest first.
    pub times_ms: Vec<u64>,
    pub step_ms: u64,
    pub series: Vec<Series>,
}

impl TimeChart {
    fn value(&self, series: usize, bucket: usize) -> Option<f64> {
        self.series
            .get(series)?
            .values
            .get(bucket)
            .copied()
            .flatten()
            .filter(|value| value.is_finite())
    }

    fn maximum(&self) -> f64 {
        let buckets = 0..self.times_ms.len();
        match self.kind {
            TimeKind::Line => buckets
                .flat_map(|bucket| (0..self.series.len()).map(move |s| (s, bucket)))
                .filter_map(|(series, bucket)| self.value(series, bucket))
                .fold(0.0, f64::max),
            TimeKind::Stacked => buckets
                .map(|bucket| {
                    (0..self.series.len())
                        .filter_map(|series| self.value(series, bucket))
                        .filter(|value| *value > 0.0)
                        .sum::<f64>()
                })
                .fold(0.0, f64::max),
        }
    }
}

struct Plot {
    start_ms: u64,
    end_ms: u64,
    top_value: f64,
}

impl Plot {
    fn x(&self, time_ms: u64) -> f64 {
        let span = self.end_ms.saturating_sub(self.start_ms).max(1) as f64;
        LEFT + time_ms.saturating_sub(self.start_ms) as f64 / span * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        TOP + (1.0 - value / self.top_value) * (HEIGHT - TOP - BOTTOM)
    }
}

/// The chart as a `<figure>`: SVG with title, description, legend and a data table.
pub fn time_chart(chart: &TimeChart) -> Svg {
    let start_ms = chart.times_ms.first().copied().unwrap_or(0);
    let end_ms = chart
        .times_ms
        .last()
        .map_or(start_ms + 1, |last| last + chart.step_ms.max(1));
    let plot = Plot {
        start_ms,
        end_ms,
        top_value: nice_ceiling(chart.maximum()),
    };
    let mut body = axes(chart, &plot);
    match chart.kind {
        TimeKind::Line => body.push_str(&lines(chart, &plot)),
        TimeKind::Stacked => body.push_str(&stacked(chart, &plot)),
    }
    let summary = summary(chart);
    let mut html = format!(
        "<figure class=\"chart\"><figcaption>{title}</figcaption>\
         <svg class=\"plot zoomable\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{title}\" data-start-ms=\"{start_ms}\" data-end-ms=\"{end_ms}\" \
         data-plot-left=\"{LEFT}\" data-plot-right=\"{right}\" data-view-width=\"{WIDTH}\">\
         <title>{title}</title><desc>{summary}</desc>{body}</svg>",
        title = escape(&chart.title),
        summary = escape(&summary),
        right = WIDTH - RIGHT,
    );
    html.push_str(&legend(chart));
    html.push_str(&table(chart));
    html.push_str("</figure>");
    Svg(html)
}

fn axes(chart: &TimeChart, plot: &Plot) -> String {
    let mut svg = String::new();
    for fraction in [0.0, 0.5, 1.0] {
        let value = plot.top_value * fraction;
        let y = coordinate(plot.y(value));
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{y}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            escape(&chart.unit.axis_label(value))
        ));
    }
    if chart.times_ms.is_empty() {
        return svg;
    }
    let with_day = plot.end_ms.saturating_sub(plot.start_ms) > 86_400_000;
    let ticks = [
        (plot.start_ms, "start"),
        (plot.start_ms / 2 + plot.end_ms / 2, "middle"),
        (plot.end_ms, "end"),
    ];
    for (time, anchor) in ticks {
        svg.push_str(&format!(
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            coordinate(plot.x(time)),
            HEIGHT - 6.0,
            escape(&format::clock(time, with_day))
        ));
    }
    svg
}

fn point_title(chart: &TimeChart, series: usize, bucket: usize, value: f64) -> String {
    let label = chart.series.get(series).map_or("", |s| s.label.as_str());
    let time = chart.times_ms.get(bucket).copied().unwrap_or(0);
    escape(&format!(
        "{label} at {}: {}",
        format::clock(time, true),
        chart.unit.format(value)
    ))
}

fn lines(chart: &TimeChart, plot: &Plot) -> String {
    let mut svg = String::new();
    let half_step = chart.step_ms / 2;
    for series in 0..chart.series.len() {
        let mut segments: Vec<Vec<String>> = vec![Vec::new()];
        let mut dots = String::new();
        for (bucket, time) in chart.times_ms.iter().enumerate() {
            let Some(value) = chart.value(series, bucket) else {
                segments.push(Vec::new());
                continue;
            };
            let (x, y) = (
                coordinate(plot.x(time + half_step)),
                coordinate(plot.y(value)),
            );
            if let Some(segment) = segments.last_mut() {
                segment.push(format!("{x},{y}"));
            }
            dots.push_str(&format!(
                "<circle class=\"dot series-{series}\" cx=\"{x}\" cy=\"{y}\" r=\"2.5\"><title>{}</title></circle>",
                point_title(chart, series, bucket, value)
            ));
        }
        for segment in segments.iter().filter(|segment| !segment.is_empty()) {
            svg.push_str(&format!(
                "<polyline class=\"line series-{series}\" fill=\"none\" points=\"{}\"/>",
                segment.join(" ")
            ));
        }
        svg.push_str(&dots);
    }
    svg
}

fn stacked(chart: &TimeChart, plot: &Plot) -> String {
    let mut svg = String::new();
    for (bucket, time) in chart.times_ms.iter().enumerate() {
        let left = plot.x(*time);
        let width = (plot.x(time + chart.step_ms) - left - 1.0).max(1.0);
        let mut base = 0.0;
        for series in 0..chart.series.len() {
            let Some(value) = chart.value(series, bucket).filter(|value| *value > 0.0) else {
                continue;
            };
            let (bottom, top) = (plot.y(base), plot.y(base + value));
            base += value;
            svg.push_str(&format!(
                "<rect class=\"bar series-{series}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                coordinate(left),
                coordinate(top),
                coordinate(width),
                coordinate((bottom - top).max(0.5)),
                point_title(chart, series, bucket, value)
            ));
        }
    }
    svg
}

fn summary(chart: &TimeChart) -> String {
    if chart.times_ms.is_empty() {
        return format!("{}: no data in this time range", chart.title);
    }
    let parts: Vec<String> = chart
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            let known: Vec<f64> = (0..chart.times_ms.len())
                .filter_map(|bucket| chart.value(index, bucket))
                .collect();
            let peak = known.iter().copied().fold(0.0, f64::max);
            format!(
                "{} peaks at {} over {} buckets",
                series.label,
                chart.unit.format(peak),
                known.len()
            )
        })
        .collect();
    format!("{}: {}", chart.title, parts.join("; "))
}

fn legend(chart: &TimeChart) -> String {
    let mut html = String::from("<ul class=\"legend\">");
    for (index, series) in chart.series.iter().enumerate() {
        html.push_str(&format!(
            "<li><svg class=\"swatch\" viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect class=\"bar series-{index}\" width=\"10\" height=\"10\"/></svg>{}</li>",
            escape(&series.label)
        ));
    }
    html.push_str("</ul>");
    html
}

fn table(chart: &TimeChart) -> String {
    let mut headers = vec!["time (UTC)".to_owned()];
    headers.extend(chart.series.iter().map(|series| series.label.clone()));
    let rows: Vec<Vec<String>> = chart
        .times_ms
        .iter()
        .enumerate()
        .map(|(bucket, time)| {
            let mut row = vec![format::clock(*time, true)];
            row.extend((0..chart.series.len()).map(|series| {
                chart
                    .value(series, bucket)
                    .map_or_else(|| "unknown".to_owned(), |value| chart.unit.format(value))
            }));
            row
        })
        .collect();
    data_table(&chart.title, &headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(kind: TimeKind, series: Vec<Series>, buckets: usize) -> TimeChart {
        TimeChart {
            title: "Invocations <script>".to_owned(),
            unit: Unit::Count,
            kind,
            times_ms: (0..buckets as u64).map(|bucket| bucket * 60_000).collect(),
            step_ms: 60_000,
            series,
        }
    }

    fn series(label: &str, values: &[Option<f64>]) -> Series {
        Series {
            label: label.to_owned(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn every_point_carries_its_value_and_gaps_break_the_line() {
        let svg = time_chart(&chart(
            TimeKind::Line,
            vec![series("p95 \"ms\"", &[Some(3.0), None, Some(7.0)])],
            3,
        ));
        let text = svg.as_str();
        assert_eq!(text.matches("<circle").count(), 2);
        assert_eq!(text.matches("<polyline").count(), 2, "{text}");
        assert!(text.contains("<title>p95 &quot;ms&quot; at 01-01 00:02: 7</title>"));
        assert!(text.contains("Invocations &lt;script&gt;"));
        assert!(!text.contains("<script>"));
        // The axis tops out at a round 10, and the table lists the gap as unknown.
        assert!(text.contains(">10</text>"));
        assert!(text.contains("<td>unknown</td>"));
        assert!(text.contains("data-start-ms=\"0\" data-end-ms=\"180000\""));
    }

    #[test]
    fn stacked_bars_sum_per_bucket() {
        let svg = time_chart(&chart(
            TimeKind::Stacked,
            vec![
                series("ok", &[Some(4.0), Some(0.0)]),
                series("errors", &[Some(4.0), Some(1.0)]),
            ],
            2,
        ));
        let text = svg.as_str();
        // Zero-height bars are left out; three remain.
        assert_eq!(text.matches("<rect class=\"bar").count(), 3 + 2, "{text}");
        assert!(text.contains("<title>errors at 01-01 00:00: 4</title>"));
        assert!(text.contains("errors peaks at 4 over 2 buckets"));
    }

    #[test]
    fn no_data_still_draws_axes_and_says_so() {
        let svg = time_chart(&chart(TimeKind::Line, vec![series("x", &[])], 0));
        assert!(svg.as_str().contains("no data in this time range"));
        assert!(svg.as_str().contains("class=\"grid\""));
    }
}
