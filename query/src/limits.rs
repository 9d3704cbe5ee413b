//! Bounds of every read: the longest window a query may cover, and the
//! ClickHouse settings each query runs with, so that no request can read
//! without end or hang.

use crate::error::QueryError;
use crate::time_window::TimeWindow;
use std::time::Duration;

/// Default longest window: the default retention, 7 days.
pub const DEFAULT_MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);
/// Default ClickHouse `max_execution_time`.
pub const DEFAULT_MAX_EXECUTION_TIME: Duration = Duration::from_secs(30);
/// Default ClickHouse `max_rows_to_read`.
pub const DEFAULT_MAX_ROWS_TO_READ: u64 = 1_000_000_000;
/// Default ClickHouse `max_result_rows`, also the largest allowed.
pub const DEFAULT_MAX_RESULT_ROWS: u64 = 1_000_000;
/// The `LIMIT` of templates whose answers have no natural bound: one row
/// more than the largest `max_result_rows`, so a longer answer fails with
/// "too many rows" instead of being cut short without a word.
pub const BACKSTOP_LIMIT: u64 = DEFAULT_MAX_RESULT_ROWS + 1;

/// The bounds of the read side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Longest window one request may ask for (`max_query_window`).
    pub max_window: Duration,
    /// ClickHouse `max_execution_time`, whole seconds (at least one).
    pub max_execution_time: Duration,
    /// ClickHouse `max_rows_to_read`.
    pub max_rows_to_read: u64,
    /// ClickHouse `max_result_rows`.
    pub max_result_rows: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_window: DEFAULT_MAX_WINDOW,
            max_execution_time: DEFAULT_MAX_EXECUTION_TIME,
            max_rows_to_read: DEFAULT_MAX_ROWS_TO_READ,
            max_result_rows: DEFAULT_MAX_RESULT_ROWS,
        }
    }
}

impl QueryLimits {
    /// The window `[start, end]` if it is ordered and no longer than
    /// `max_window`; otherwise a 400 that names the limit. `what` names the
    /// parameters (`"from/to"`, `"start/end"`).
    pub fn window(&self, start: u64, end: u64, what: &str) -> Result<TimeWindow, QueryError> {
        if start > end {
            return Err(QueryError::BadRequest(format!(
                "{what}: the start must not be after the end"
            )));
        }
        let max_nanos = u64::try_from(self.max_window.as_nanos()).unwrap_or(u64::MAX);
        if end - start > max_nanos {
            return Err(QueryError::BadRequest(format!(
                "{what}: the window is {} long, longer than max_query_window ({})",
                describe(end - start),
                describe(max_nanos)
            )));
        }
        Ok(TimeWindow {
            start_unix_nano: start,
            end_unix_nano: end,
        })
    }

    /// The ClickHouse settings every query of the read side carries.
    pub fn clickhouse_settings(&self) -> [(&'static str, String); 3] {
        let seconds = self.max_execution_time.as_secs().max(1);
        [
            ("max_execution_time", seconds.to_string()),
            ("max_rows_to_read", self.max_rows_to_read.to_string()),
            ("max_result_rows", self.max_result_rows.to_string()),
        ]
    }

    /// `client` with [`Self::clickhouse_settings`] on every query.
    pub fn apply(&self, client: clickhouse::Client) -> clickhouse::Client {
        self.clickhouse_settings()
            .into_iter()
            .fold(client, |client, (name, value)| {
                client.with_setting(name, value)
            })
    }
}

/// A length of time as people write it: `7d`, `36h`, `90m`, `45s`, `1.5s`.
pub fn describe(nanos: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (unit, suffix) in UNITS {
        if nanos >= unit && nanos.is_multiple_of(unit) {
            return format!("{}{suffix}", nanos / unit);
        }
    }
    if nanos >= 86_400_000_000_000 {
        return format!("{}d", nanos / 86_400_000_000_000);
    }
    format!("{:.3}s", nanos as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000_000_000;

    #[test]
    fn windows_up_to_the_limit_pass() {
        let limits = QueryLimits::default();
        let window = limits.window(DAY, 8 * DAY, "from/to").expect("7 days");
        assert_eq!(window.start_unix_nano, DAY);
        assert_eq!(window.end_unix_nano, 8 * DAY);
    }

    #[test]
    fn a_longer_window_names_the_limit() {
        let limits = QueryLimits::default();
        let error = limits
            .window(0, 20_000 * DAY, "from/to")
            .expect_err("too long");
        let message = error.to_string();
        assert!(message.contains("max_query_window (7d)"), "{message}");
        assert!(message.starts_with("from/to:"), "{message}");
        assert!(matches!(error, QueryError::BadRequest(_)));
        let error = limits.window(2, 1, "start/end").expect_err("reversed");
        assert!(error.to_string().starts_with("start/end:"), "{error}");
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(describe(7 * DAY), "7d");
        assert_eq!(describe(36 * 3_600_000_000_000), "36h");
        assert_eq!(describe(90 * 60_000_000_000), "90m");
        assert_eq!(describe(1_500_000_000), "1.500s");
        assert_eq!(describe(DAY + 1), "1d");
    }

    #[test]
    fn settings_are_whole_seconds() {
        let limits = QueryLimits {
            max_execution_time: Duration::from_millis(200),
            ..QueryLimits::default()
        };
        assert_eq!(limits.clickhouse_settings()[0].1, "1");
    }
}
