//! The time window every query endpoint takes: `from` and `to` as RFC 3339,
//! Unix milliseconds, or relative to now (`now`, `now-15m`, `now-1h`,
//! `now-7d`); by default the last hour. Also the `step` of time series.

use crate::error::ApiError;
use serde::Deserialize;
use tracehouse_query::TimeRange;

/// Length of the default window.
pub const DEFAULT_WINDOW_MS: u64 = 3_600_000;
/// Most buckets a time series may have.
pub const MAX_BUCKETS: u64 = 10_000;

/// The window parameters as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WindowParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl WindowParams {
    /// The window relative to `now_unix_ms`; 400 naming `from` or `to`
    /// when one does not parse or `from` is not before `to`.
    pub fn resolve(&self, now_unix_ms: u64) -> Result<TimeRange, ApiError> {
        let to_unix_ms = match &self.to {
            Some(text) => parse_time(text, now_unix_ms).map_err(|why| bad("to", text, &why))?,
            None => now_unix_ms,
        };
        let from_unix_ms = match &self.from {
            Some(text) => parse_time(text, now_unix_ms).map_err(|why| bad("from", text, &why))?,
            None => to_unix_ms.saturating_sub(DEFAULT_WINDOW_MS),
        };
        if from_unix_ms >= to_unix_ms {
            return Err(ApiError::bad_request("from: must be before to"));
        }
        Ok(TimeRange {
            from_unix_ms,
            to_unix_ms,
        })
    }

    /// [`Self::resolve`] at the current time.
    pub fn resolve_now(&self) -> Result<TimeRange, ApiError> {
        self.resolve(now_unix_ms())
    }
}

fn bad(name: &str, text: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("{name}: {text:?} is not a time ({why})"))
}

/// Milliseconds since the epoch, now.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// One time: RFC 3339, Unix milliseconds, or `now[-<duration>]`.
pub fn parse_time(text: &str, now_unix_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    if let Some(relative) = text.strip_prefix("now") {
        if relative.is_empty() {
            return Ok(now_unix_ms);
        }
        let ago = relative
            .strip_prefix('-')
            .ok_or("use now-<duration>, e.g. now-1h")?;
        let seconds = parse_duration_seconds(ago)?;
        return Ok(now_unix_ms.saturating_sub(seconds.saturating_mul(1000)));
    }
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| "Unix milliseconds out of range".to_owned());
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| "use RFC 3339, Unix milliseconds or now-1h".to_owned())?;
    u64::try_from(parsed.timestamp_millis()).map_err(|_| "before 1970".to_owned())
}

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

/// The `step` of a time series over `range`: at least one second and at
/// most [`MAX_BUCKETS`] buckets; 60 s by default.
pub fn parse_step(step: Option<&str>, range: &TimeRange) -> Result<u32, ApiError> {
    let seconds = match step {
        Some(text) => parse_duration_seconds(text)
            .map_err(|why| ApiError::bad_request(format!("step: {why}")))?,
        None => 60,
    };
    if seconds == 0 {
        return Err(ApiError::bad_request("step: must be at least 1s"));
    }
    let range_seconds = range
        .to_unix_ms
        .saturating_sub(range.from_unix_ms)
        .div_ceil(1000);
    if range_seconds / seconds > MAX_BUCKETS {
        return Err(ApiError::bad_request(format!(
            "step: more than {MAX_BUCKETS} buckets; use a larger step"
        )));
    }
    u32::try_from(seconds).map_err(|_| ApiError::bad_request("step: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn times_parse_in_every_form() {
        assert_eq!(parse_time("now", NOW), Ok(NOW));
        assert_eq!(parse_time("now-1h", NOW), Ok(NOW - 3_600_000));
        assert_eq!(parse_time("now-15m", NOW), Ok(NOW - 900_000));
        assert_eq!(parse_time("1700000000123", NOW), Ok(1_700_000_000_123));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z", NOW),
            Ok(1_700_000_000_500)
        );
        assert!(parse_time("yesterday", NOW).is_err());
        assert!(parse_time("now+1h", NOW).is_err());
        assert!(parse_time("now-1w", NOW).is_err());
    }

    #[test]
    fn windows_default_to_the_last_hour_and_must_be_ordered() {
        let range = WindowParams::default().resolve(NOW).expect("default");
        assert_eq!(range.from_unix_ms, NOW - DEFAULT_WINDOW_MS);
        assert_eq!(range.to_unix_ms, NOW);
        let reversed = WindowParams {
            from: Some("now".to_owned()),
            to: Some("now-1h".to_owned()),
        };
        assert!(reversed.resolve(NOW).is_err());
    }

    #[test]
    fn steps_are_bounded() {
        let range = TimeRange {
            from_unix_ms: 0,
            to_unix_ms: 3_600_000,
        };
        assert_eq!(parse_step(Some("60s"), &range).ok(), Some(60));
        assert_eq!(parse_step(Some("5m"), &range).ok(), Some(300));
        assert_eq!(parse_step(None, &range).ok(), Some(60));
        assert!(parse_step(Some("0s"), &range).is_err());
        assert!(parse_step(Some("abc"), &range).is_err());
        let day = TimeRange {
            from_unix_ms: 0,
            to_unix_ms: 30 * 86_400_000,
        };
        assert!(parse_step(Some("1s"), &day).is_err());
    }
}
