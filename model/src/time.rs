//! The current time, the one way every crate reads it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock; the one place that reads it (`clippy.toml` refuses
/// `SystemTime::now` elsewhere).
#[allow(clippy::disallowed_methods)]
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Now in Unix nanoseconds.
pub fn now_unix_nano() -> u64 {
    u64::try_from(since_epoch().as_nanos()).unwrap_or(u64::MAX)
}

/// Now in whole Unix seconds, as ClickHouse `DateTime` columns hold it.
pub fn now_unix_seconds() -> u32 {
    u32::try_from(since_epoch().as_secs()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_units_agree() {
        let seconds = u64::from(super::now_unix_seconds());
        let nanos = super::now_unix_nano();
        assert!(nanos / 1_000_000_000 >= seconds && nanos / 1_000_000_000 <= seconds + 1);
    }
}
