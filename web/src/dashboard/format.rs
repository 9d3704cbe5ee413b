//! How the dashboard writes numbers: dollars with meaningful precision (a
//! non-zero cost never reads `$0.000000`), milliseconds, percentages,
//! counts, and changes against a previous window.

/// Dollars: two decimals from one dollar up, four from a cent, else three
/// significant digits. Zero is `$0`; unknown is `unknown`.
pub fn usd(value: Option<f64>) -> String {
    match value {
        None => "unknown".to_owned(),
        Some(amount) if !amount.is_finite() => "unknown".to_owned(),
        Some(amount) => {
            let sign = if amount < 0.0 { "-" } else { "" };
            format!("{sign}${}", unsigned_amount(amount.abs()))
        }
    }
}

/// A difference in dollars as "$x more" or "$x less", by its sign.
pub fn usd_difference(value: f64) -> String {
    difference(value, |amount| usd(Some(amount)))
}

/// A difference in milliseconds as "x ms more" or "x ms less", by its sign.
pub fn ms_difference(value: f64) -> String {
    difference(value, |amount| ms(Some(amount)))
}

/// `value` without its sign, shown by `show`, then "more" or "less".
fn difference(value: f64, show: impl Fn(f64) -> String) -> String {
    let direction = if value < 0.0 { "less" } else { "more" };
    format!("{} {direction}", show(value.abs()))
}

fn unsigned_amount(amount: f64) -> String {
    if amount == 0.0 {
        return "0".to_owned();
    }
    if amount >= 1.0 {
        return with_thousands(amount, 2);
    }
    if amount >= 0.01 {
        return format!("{amount:.4}");
    }
    // Leading zeros after the point, then three significant digits.
    let zeros = (-amount.log10()).floor() as usize;
    let decimals = (zeros + 3).min(15);
    format!("{amount:.decimals$}")
}

fn with_thousands(amount: f64, decimals: usize) -> String {
    let text = format!("{amount:.decimals$}");
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}.{fraction}")
    }
}

/// Milliseconds: `–` when unknown, one decimal below 100 ms, whole above,
/// seconds from 10 s.
pub fn ms(value: Option<f64>) -> String {
    match value {
        Some(millis) if millis.is_finite() => {
            if millis.abs() >= 10_000.0 {
                format!("{:.1} s", millis / 1000.0)
            } else if millis.abs() >= 100.0 {
                format!("{millis:.0} ms")
            } else {
                format!("{millis:.1} ms")
            }
        }
        _ => "–".to_owned(),
    }
}

/// A ratio as a percentage with one decimal (two below 1 %).
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "–".to_owned();
    }
    let value = ratio * 100.0;
    if value != 0.0 && value.abs() < 1.0 {
        format!("{value:.2}%")
    } else {
        format!("{value:.1}%")
    }
}

/// A count with thousands separators.
pub fn count(value: u64) -> String {
    with_thousands(value as f64, 0)
}

/// Whether a change is good, bad or neither, for colour and icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Better,
    Worse,
    Same,
}

impl Trend {
    /// CSS class of the change.
    pub fn class(self) -> &'static str {
        match self {
            Trend::Better => "better",
            Trend::Worse => "worse",
            Trend::Same => "same",
        }
    }
}

/// A change against a previous value, as shown next to a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `▲ 12.0%`, `▼ 3.1%`, `▲ ×389` (tenfold and more), `new`, or `no change`.
    pub text: String,
    pub trend: Trend,
}

/// The change from `previous` to `current`; `higher_is_worse` decides its
/// trend (errors, latency and cost are worse when higher).
pub fn change(current: f64, previous: f64, higher_is_worse: bool) -> Change {
    let same = Change {
        text: "no change".to_owned(),
        trend: Trend::Same,
    };
    if !current.is_finite() || !previous.is_finite() {
        return same;
    }
    if previous == 0.0 {
        if current == 0.0 {
            return same;
        }
        return Change {
            text: "new".to_owned(),
            trend: Trend::Same,
        };
    }
    let relative = (current - previous) / previous.abs();
    if relative.abs() < 0.0005 {
        return same;
    }
    let arrow = if relative > 0.0 { "▲" } else { "▼" };
    let worse = (relative > 0.0) == higher_is_worse;
    // Past tenfold a percentage stops reading well (`▲ 38874.2%`): say `×389`.
    let text = if relative >= 9.0 {
        format!("{arrow} ×{:.0}", current / previous)
    } else {
        format!("{arrow} {:.1}%", relative.abs() * 100.0)
    };
    Change {
        text,
        trend: if worse { Trend::Worse } else { Trend::Better },
    }
}

/// A Unix-nanosecond instant as UTC `YYYY-MM-DD HH:MM:SS`.
pub fn instant(unix_nano: u64) -> String {
    let seconds = i64::try_from(unix_nano / 1_000_000_000).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || "–".to_owned(),
        |time| time.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A Unix-millisecond instant as UTC `HH:MM` (or `MM-DD HH:MM` when `with_day`).
pub fn clock(unix_ms: u64, with_day: bool) -> String {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    let pattern = if with_day { "%m-%d %H:%M" } else { "%H:%M" };
    chrono::DateTime::from_timestamp(seconds, 0)
        .map_or_else(|| "–".to_owned(), |time| time.format(pattern).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_zero_cost_never_reads_as_zero() {
        assert_eq!(usd(Some(0.0)), "$0");
        assert_eq!(usd(Some(0.000_000_2)), "$0.000000200");
        assert_eq!(usd(Some(0.000_123_4)), "$0.000123");
        assert_eq!(usd(Some(0.0042)), "$0.00420");
        assert_eq!(usd(Some(0.5)), "$0.5000");
        assert_eq!(usd(Some(1234.5)), "$1,234.50");
        assert_eq!(usd(Some(-0.25)), "-$0.2500");
        assert_eq!(usd(None), "unknown");
        assert_eq!(usd(Some(f64::NAN)), "unknown");
    }

    #[test]
    fn durations_counts_and_percentages() {
        assert_eq!(ms(Some(12.345)), "12.3 ms");
        assert_eq!(ms(Some(250.4)), "250 ms");
        assert_eq!(ms(Some(12_500.0)), "12.5 s");
        assert_eq!(ms(None), "–");
        assert_eq!(percent(0.123), "12.3%");
        assert_eq!(percent(0.0005), "0.05%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
    }

    /// A difference says its direction in words, never with a minus after "more".
    #[test]
    fn differences_read_as_more_or_less() {
        assert_eq!(usd_difference(0.0042), "$0.00420 more");
        assert_eq!(usd_difference(-0.000_015_4), "$0.0000154 less");
        assert_eq!(ms_difference(280.0), "280 ms more");
        assert_eq!(ms_difference(-12.345), "12.3 ms less");
    }

    #[test]
    fn changes_know_which_direction_is_worse() {
        let up = change(120.0, 100.0, true);
        assert_eq!(up.text, "▲ 20.0%");
        assert_eq!(up.trend, Trend::Worse);
        let down = change(80.0, 100.0, true);
        assert_eq!(down.text, "▼ 20.0%");
        assert_eq!(down.trend, Trend::Better);
        assert_eq!(change(5.0, 0.0, true).text, "new");
        assert_eq!(change(38_875.0, 100.0, true).text, "▲ ×389");
        assert_eq!(change(999.0, 100.0, true).text, "▲ 899.0%");
        assert_eq!(change(0.0, 0.0, true).trend, Trend::Same);
        assert_eq!(change(100.0, 100.0, false).text, "no change");
    }

    #[test]
    fn instants_are_utc() {
        assert_eq!(instant(1_764_213_600_000_000_000), "2025-11-27 03:20:00");
        assert_eq!(clock(1_764_213_600_000, false), "03:20");
    }
}
