//! The `step` of a time series: `30s`, `5m`, `1h`, `1d` or plain seconds.

use crate::error::ApiError;
use tracehouse_model::duration::parse_duration_nanos;
use tracehouse_query::TimeWindow;

/// Most buckets a time series may have.
pub const MAX_BUCKETS: u64 = 10_000;
/// Step when none is given.
pub const DEFAULT_STEP_SECONDS: u64 = 60;

/// A duration (`30s`, `15m`, `1h`, `7d`), or plain seconds, in whole seconds.
pub fn parse_duration_seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("{text:?} is out of range"));
    }
    Ok(parse_duration_nanos(text)? / 1_000_000_000)
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
