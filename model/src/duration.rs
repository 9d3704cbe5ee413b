//! Durations, parsed one way everywhere (`now-15m` windows, time-series
//! steps, Jaeger's `minDuration`, alert rule windows): a whole or decimal
//! number and a unit, `ns`, `us` (`µs`), `ms`, `s`, `m`, `h` or `d`.

/// A duration like `30s`, `1.5s`, `100ms`, `15m`, `2h` or `7d` in nanoseconds.
pub fn parse_duration_nanos(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let unit_at = text
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .ok_or_else(|| format!("{text:?} lacks a unit (ns, us, ms, s, m, h or d)"))?;
    let (number, unit) = text.split_at(unit_at);
    let unit_nanos: u64 = match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?}: use ns, us, ms, s, m, h or d"
            ))
        }
    };
    let not_a_number = || format!("{text:?} is not a duration like 30s, 15m, 1h or 100ms");
    if number.contains('.') {
        let value: f64 = number.parse().map_err(|_| not_a_number())?;
        let nanos = value * unit_nanos as f64;
        return (nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64)
            .then_some(nanos as u64)
            .ok_or_else(|| format!("{text:?} is out of range"));
    }
    let value: u64 = number.parse().map_err(|_| not_a_number())?;
    value
        .checked_mul(unit_nanos)
        .ok_or_else(|| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::parse_duration_nanos;

    #[test]
    fn numbers_and_units() {
        assert_eq!(parse_duration_nanos("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_nanos("100ms"), Ok(100_000_000));
        assert_eq!(parse_duration_nanos("250us"), Ok(250_000));
        assert_eq!(parse_duration_nanos(" 2m "), Ok(120_000_000_000));
        assert_eq!(parse_duration_nanos("2d"), Ok(2 * 86_400_000_000_000));
        for bad in ["12", "3y", "1w", "abc", "s", "1..5s", "99999999999d"] {
            assert!(parse_duration_nanos(bad).is_err(), "{bad}");
        }
    }
}
