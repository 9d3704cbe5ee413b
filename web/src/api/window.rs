//! The time window of a query: `from` and `to` as RFC 3339, Unix
//! milliseconds, `now` or `now-<n><s|m|h|d>`; by default the last hour.
//! Every window of the API and the pages is resolved here, and bounded by
//! [`QueryLimits::window`] (the Jaeger API's parameters use the same check).

use crate::error::ApiError;
use serde::Deserialize;
use tracehouse_model::duration::parse_duration_nanos;
use tracehouse_query::{QueryLimits, TimeWindow};

/// Window when none is given.
pub const DEFAULT_WINDOW_NANOS: u64 = 3_600 * 1_000_000_000;

/// The `from` and `to` query parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WindowParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl WindowParams {
    /// The window, relative to the current time, within `limits`.
    pub fn resolve(&self, limits: &QueryLimits) -> Result<TimeWindow, ApiError> {
        resolve_window(
            self.from.as_deref(),
            self.to.as_deref(),
            now_unix_nano(),
            limits,
        )
    }
}

use tracehouse_model::time::now_unix_nano;

/// Resolves `from`/`to` against `now`; 400 naming the parameter when malformed,
/// when `from` is after `to` or when the window is longer than `limits` allow.
pub fn resolve_window(
    from: Option<&str>,
    to: Option<&str>,
    now: u64,
    limits: &QueryLimits,
) -> Result<TimeWindow, ApiError> {
    let end = match to.filter(|text| !text.trim().is_empty()) {
        Some(text) => parse_instant(text, now).map_err(|message| bad("to", text, &message))?,
        None => now,
    };
    let start = match from.filter(|text| !text.trim().is_empty()) {
        Some(text) => parse_instant(text, now).map_err(|message| bad("from", text, &message))?,
        None => end.saturating_sub(DEFAULT_WINDOW_NANOS),
    };
    Ok(limits.window(start, end, "from/to")?)
}

fn bad(parameter: &str, text: &str, message: &str) -> ApiError {
    ApiError::bad_request(format!("{parameter}: {message} (got {text:?})"))
}

/// One instant in Unix nanoseconds.
fn parse_instant(text: &str, now: u64) -> Result<u64, String> {
    let text = text.trim();
    if let Some(relative) = text.strip_prefix("now") {
        if relative.is_empty() {
            return Ok(now);
        }
        let ago = relative
            .strip_prefix('-')
            .ok_or_else(|| "expected now-<n><s|m|h|d>".to_owned())?;
        return Ok(now.saturating_sub(parse_duration_nanos(ago)?));
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        let millis: u64 = text
            .parse()
            .map_err(|_| "Unix milliseconds out of range".to_owned())?;
        return millis
            .checked_mul(1_000_000)
            .ok_or_else(|| "Unix milliseconds out of range".to_owned());
    }
    let instant = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| "expected RFC 3339, Unix milliseconds or now-<n><s|m|h|d>".to_owned())?;
    instant
        .timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .ok_or_else(|| "time out of range".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_000_000_000_000_000;
    const LIMITS: QueryLimits = QueryLimits {
        max_window: std::time::Duration::from_secs(7 * 86_400),
        max_execution_time: std::time::Duration::from_secs(30),
        max_rows_to_read: 1,
        max_result_rows: 1,
    };

    #[test]
    fn default_is_the_last_hour() {
        let window = resolve_window(None, None, NOW, &LIMITS).expect("valid");
        assert_eq!(window.end_unix_nano, NOW);
        assert_eq!(window.start_unix_nano, NOW - DEFAULT_WINDOW_NANOS);
    }

    #[test]
    fn accepts_rfc3339_millis_and_relative() {
        let window = resolve_window(
            Some("2025-11-24T16:00:00Z"),
            Some("1764000000000"),
            NOW,
            &LIMITS,
        )
        .expect("valid");
        assert_eq!(window.start_unix_nano, 1_764_000_000_000_000_000);
        assert_eq!(window.end_unix_nano, 1_764_000_000_000_000_000);
        let window = resolve_window(Some("now-15m"), Some("now"), NOW, &LIMITS).expect("valid");
        assert_eq!(window.start_unix_nano, NOW - 900 * 1_000_000_000);
        let window = resolve_window(Some("now-2d"), None, NOW, &LIMITS).expect("valid");
        assert_eq!(window.start_unix_nano, NOW - 2 * 86_400 * 1_000_000_000);
    }

    #[test]
    fn rejects_garbage_naming_the_parameter() {
        for (from, to, parameter) in [
            (Some("yesterday"), None, "from"),
            (None, Some("now+1h"), "to"),
            (Some("now-5w"), None, "from"),
            (Some("now"), Some("now-1h"), "from"),
            (Some("0"), None, "from/to"),
            (Some("now-8d"), None, "from/to"),
        ] {
            let error = resolve_window(from, to, NOW, &LIMITS).expect_err("invalid");
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
            assert!(
                error.message().starts_with(parameter),
                "{from:?} {to:?}: {}",
                error.message()
            );
        }
    }
}
