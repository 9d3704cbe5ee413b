//! A time window of a query, in Unix nanoseconds.

/// `[start, end]` in Unix nanoseconds, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl TimeWindow {
    /// Whole seconds of the start, for `DateTime` partition columns.
    pub fn start_seconds(&self) -> u32 {
        u32::try_from(self.start_unix_nano / 1_000_000_000).unwrap_or(u32::MAX)
    }

    /// Whole seconds of the end, rounded up so the last second is included.
    pub fn end_seconds(&self) -> u32 {
        u32::try_from(self.end_unix_nano.div_ceil(1_000_000_000)).unwrap_or(u32::MAX)
    }

    /// The part of this window that `other` covers, `None` when they do not meet.
    pub fn intersect(&self, other: &TimeWindow) -> Option<TimeWindow> {
        let window = TimeWindow {
            start_unix_nano: self.start_unix_nano.max(other.start_unix_nano),
            end_unix_nano: self.end_unix_nano.min(other.end_unix_nano),
        };
        (window.start_unix_nano <= window.end_unix_nano).then_some(window)
    }
}
