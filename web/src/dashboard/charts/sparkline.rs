//! A sparkline: a small line of one series, for tiles and table rows.

use super::svg::{coordinate, escape};
use super::{Svg, Unit};

const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 28.0;

/// A sparkline of `values` (oldest first); its label and the values are its
/// text alternative. No values, or only zeros, draw a flat line.
pub fn sparkline(label: &str, values: &[f64], unit: Unit) -> Svg {
    let finite: Vec<f64> = values
        .iter()
        .map(|value| if value.is_finite() { *value } else { 0.0 })
        .collect();
    let max = finite.iter().copied().fold(0.0, f64::max);
    let min = finite.iter().copied().fold(0.0, f64::min);
    let span = (max - min).max(f64::EPSILON);
    let step = if finite.len() > 1 {
        WIDTH / (finite.len() - 1) as f64
    } else {
        0.0
    };
    let y = |value: f64| HEIGHT - 2.0 - (value - min) / span * (HEIGHT - 4.0);
    let points: Vec<String> = match finite.len() {
        0 => vec![format!("0,{0} {WIDTH},{0}", coordinate(HEIGHT - 2.0))],
        // One point: a level line at its height.
        1 => vec![format!("0,{y} {WIDTH},{y}", y = coordinate(y(finite[0])))],
        _ => finite
            .iter()
            .enumerate()
            .map(|(index, value)| {
                format!(
                    "{},{}",
                    coordinate(index as f64 * step),
                    coordinate(y(*value))
                )
            })
            .collect(),
    };
    let summary = match (finite.first(), finite.last()) {
        (Some(first), Some(last)) => format!(
            "{label}: {} values from {} to {}, highest {}",
            finite.len(),
            unit.format(*first),
            unit.format(*last),
            unit.format(max)
        ),
        _ => format!("{label}: no data"),
    };
    Svg(format!(
        "<svg class=\"sparkline\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{summary}\">\
         <title>{summary}</title><polyline class=\"spark-line\" fill=\"none\" points=\"{points}\"/></svg>",
        summary = escape(&summary),
        points = points.join(" "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_point_per_value_and_says_what_it_shows() {
        let svg = sparkline("cost <b>", &[0.0, 2.0, 1.0], Unit::Count);
        assert!(
            svg.as_str().contains("points=\"0,26 60,2 120,14\""),
            "{svg}"
        );
        assert!(svg
            .as_str()
            .contains("cost &lt;b&gt;: 3 values from 0 to 1, highest 2"));
        assert!(!svg.as_str().contains("<b>"));
    }

    #[test]
    fn no_data_and_a_single_point_still_draw_a_line() {
        let empty = sparkline("x", &[], Unit::Count);
        assert!(empty.as_str().contains("x: no data"));
        assert!(empty.as_str().contains("points=\"0,26 120,26\""));
        let single = sparkline("x", &[5.0], Unit::Ms);
        assert!(single.as_str().contains("1 values from 5.0 ms to 5.0 ms"));
        let flat = sparkline("x", &[0.0, 0.0], Unit::Usd);
        assert!(flat.as_str().contains("points=\"0,26 120,26\""), "{flat}");
    }
}
