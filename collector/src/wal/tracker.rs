//! Which logged records still have rows on their way to ClickHouse.
//!
//! Every record is held by [`Hold`]s: one for the request while it is
//! being queued, one more for each writer submission carrying its rows.
//! A hold is [`Hold::release`]d when its part is finished (its rows are
//! written, or refused by ClickHouse as bad data); when the last one is,
//! the record is done and the log may trim it. A hold dropped without
//! being released (an error or a panic on the way) keeps its record in
//! the log for the next replay: losing rows takes an explicit decision.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct Outstanding {
    /// Holds per record sequence number.
    holds: BTreeMap<u64, u32>,
    /// Records whose rows could not be written and must be replayed.
    kept: BTreeMap<u64, ()>,
}

/// The records not yet done.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    inner: Arc<Mutex<Outstanding>>,
}

impl Tracker {
    fn with<T>(&self, action: impl FnOnce(&mut Outstanding) -> T) -> T {
        let mut outstanding = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        action(&mut outstanding)
    }

    /// The first hold on record `seq`.
    pub fn hold(&self, seq: u64) -> Hold {
        self.with(|outstanding| *outstanding.holds.entry(seq).or_insert(0) += 1);
        Hold {
            tracker: self.clone(),
            seq,
            keep: true,
        }
    }

    /// The lowest sequence number not yet done: records below it may be trimmed.
    pub fn floor(&self, next_seq: u64) -> u64 {
        self.with(|outstanding| {
            let held = outstanding.holds.keys().next().copied();
            let kept = outstanding.kept.keys().next().copied();
            [held, kept, Some(next_seq)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(next_seq)
        })
    }

    fn release(&self, seq: u64, keep: bool) {
        self.with(|outstanding| {
            if keep {
                outstanding.kept.insert(seq, ());
            }
            if let Some(count) = outstanding.holds.get_mut(&seq) {
                *count -= 1;
                if *count == 0 {
                    outstanding.holds.remove(&seq);
                }
            }
        });
    }
}

/// A claim on a logged record: while any exists, the record stays in the log.
#[derive(Debug)]
pub struct Hold {
    tracker: Tracker,
    seq: u64,
    keep: bool,
}

impl Hold {
    /// Another hold on the same record, for one more submission.
    pub fn share(&self) -> Hold {
        self.tracker.hold(self.seq)
    }

    /// This part of the record is finished: its rows are in ClickHouse, or
    /// were refused as bad data.
    pub fn release(mut self) {
        self.keep = false;
    }

    /// The record's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.tracker.release(self.seq, self.keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_done_when_its_last_hold_goes() {
        let tracker = Tracker::default();
        let request = tracker.hold(5);
        let spans = request.share();
        let invocations = request.share();
        assert_eq!(tracker.floor(9), 5);
        request.release();
        spans.release();
        assert_eq!(tracker.floor(9), 5);
        invocations.release();
        assert_eq!(tracker.floor(9), 9);
    }

    #[test]
    fn the_floor_is_the_lowest_outstanding_record() {
        let tracker = Tracker::default();
        let early = tracker.hold(3);
        let late = tracker.hold(7);
        assert_eq!(tracker.floor(10), 3);
        early.release();
        assert_eq!(tracker.floor(10), 7);
        late.release();
        assert_eq!(tracker.floor(10), 10);
    }

    #[test]
    fn a_hold_dropped_unreleased_keeps_its_record() {
        let tracker = Tracker::default();
        let request = tracker.hold(4);
        let spans = request.share();
        request.release();
        drop(spans);
        assert_eq!(tracker.floor(10), 4);
    }
}
