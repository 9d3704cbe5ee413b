//! The `step` of a time series: `30s`, `5m`, `1h`, `1d` or plain seconds.

use crate::error::ApiError;
use tracehouse_query::TimeWindow;

/// Most buckets a time series may have.
pub const MAX_BUCKETS: u64 = 10_000;
/// Step when none is given.
pub const DEFAULT_STEP_SECONDS: u64 = 60;

/// `30s`, `15m`, `1h`, `7d`, or plain seconds.
pub fn parse_duration_seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 1h or 7d"))?;
    let unit_seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown duration unit {unit:?}: use s, m, h or d")),
    };
    Ok(number.saturating_mul(unit_seconds))
}

/// The step over `window` in seconds: at least one second and at most
/// [`MAX_BUCKETS`] buckets; 60 s by default. 400 naming `step` otherwise.
pub fn parse_step(step: Option<&str>, window: &TimeWindow) -> Result<u32, ApiError> {
    let seconds = match step {
        Some(text) => parse_duration_seconds(text)
            .map_err(|why| ApiError::bad_request(format!("step: {why}")))?,
        None => DEFAULT_STEP_SECONDS,
    };
    if seconds == 0 {
        return Err(ApiError::bad_request("step: must be at least 1s"));
    }
    let window_seconds = window
        .end_unix_nano
        .saturating_sub(window.start_unix_nano)
        .div_ceil(1_000_000_000);
    if window_seconds / seconds > MAX_BUCKETS {
        return Err(ApiError::bad_request(format!(
            "step: more than {MAX_BUCKETS} buckets; use a larger step"
        )));
    }
    u32::try_from(seconds).map_err(|_| ApiError::bad_request("step: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_bounded() {
        let hour = TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: 3_600_000_000_000,
        };
        assert_eq!(parse_step(Some("60s"), &hour).ok(), Some(60));
        assert_eq!(parse_step(Some("5m"), &hour).ok(), Some(300));
        assert_eq!(parse_step(Some("90"), &hour).ok(), Some(90));
        assert_eq!(parse_step(None, &hour).ok(), Some(60));
        assert!(parse_step(Some("0s"), &hour).is_err());
        assert!(parse_step(Some("abc"), &hour).is_err());
        assert!(parse_step(Some("1w"), &hour).is_err());
        let month = TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: 30 * 86_400_000_000_000,
        };
        assert!(parse_step(Some("1s"), &month).is_err());
    }
}
