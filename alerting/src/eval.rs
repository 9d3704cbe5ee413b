//! The state machine of one rule group (a rule, or one function of a
//! grouped rule). Pure: it takes the previous state, what the evaluation
//! saw and the time, and returns the next state and the change, if any.
//!
//! ```text
//!           cond           cond held for `for`
//!   ok ──────────▶ pending ──────────────────▶ firing
//!   ▲  ◀──────────  (not cond)                  │  not cond for `keep_firing_for`
//!   │                                            ▼
//!   └──────────────── (stays until cond) ─── resolved
//! ```
//! No data, by the rule's `no_data`: counts as `ok` (condition false),
//! `firing` (condition true), or enters `nodata`. A firing group is never
//! resolved by missing data alone under `nodata`: it stays firing until a
//! value says the condition no longer holds. Evaluation errors do not touch
//! group states; they put the whole rule in `error` (see `engine.rs`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// State of a rule group, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Ok,
    Pending,
    Firing,
    Resolved,
    Nodata,
    Error,
}

impl AlertState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Nodata => "nodata",
            Self::Error => "error",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// What one evaluation saw for a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// A value, and whether the rule's condition holds for it.
    Value { value: f64, holds: bool },
    /// No data in the window.
    NoData,
}

/// The timing settings of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub for_duration: Duration,
    pub keep_firing_for: Duration,
    pub no_data: crate::signal::NoData,
}

/// The state of one group between evaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupState {
    pub state: AlertState,
    /// When the current state was entered.
    pub since_unix_nano: u64,
    /// When the condition started holding (pending or firing): the alert's start.
    pub active_since_unix_nano: u64,
    /// While firing: when the condition stopped holding (for `keep_firing_for`).
    pub clear_since_unix_nano: Option<u64>,
    pub last_value: Option<f64>,
}

impl GroupState {
    /// A group never seen before.
    pub fn new(now_unix_nano: u64) -> Self {
        Self {
            state: AlertState::Ok,
            since_unix_nano: now_unix_nano,
            active_since_unix_nano: 0,
            clear_since_unix_nano: None,
            last_value: None,
        }
    }
}

/// A state change to record (and maybe notify).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub from: AlertState,
    pub to: AlertState,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The next state of a group.
pub fn step(
    previous: &GroupState,
    observation: Observation,
    timing: Timing,
    now_unix_nano: u64,
) -> (GroupState, Option<Change>) {
    use crate::signal::NoData;
    let (holds, value) = match observation {
        Observation::Value { value, holds } => (Some(holds), Some(value)),
        Observation::NoData => match timing.no_data {
            NoData::Ok => (Some(false), None),
            NoData::Firing => (Some(true), None),
            NoData::Nodata => (None, None),
        },
    };
    let mut next = previous.clone();
    next.last_value = value;
    let target = match holds {
        None if previous.state == AlertState::Firing => AlertState::Firing,
        None => AlertState::Nodata,
        Some(true) => holding(previous, &mut next, timing, now_unix_nano),
        Some(false) => clearing(previous, &mut next, timing, now_unix_nano),
    };
    if target != AlertState::Firing {
        next.clear_since_unix_nano = None;
    }
    if target == previous.state {
        return (next, None);
    }
    next.state = target;
    next.since_unix_nano = now_unix_nano;
    let change = Change {
        from: previous.state,
        to: target,
    };
    (next, Some(change))
}

/// The condition holds.
fn holding(previous: &GroupState, next: &mut GroupState, timing: Timing, now: u64) -> AlertState {
    next.clear_since_unix_nano = None;
    match previous.state {
        AlertState::Firing => AlertState::Firing,
        AlertState::Pending => {
            let held = now.saturating_sub(previous.active_since_unix_nano);
            if held >= nanos(timing.for_duration) {
                AlertState::Firing
            } else {
                AlertState::Pending
            }
        }
        _ => {
            next.active_since_unix_nano = now;
            if timing.for_duration.is_zero() {
                AlertState::Firing
            } else {
                AlertState::Pending
            }
        }
    }
}

/// The condition does not hold.
fn clearing(previous: &GroupState, next: &mut GroupState, timing: Timing, now: u64) -> AlertState {
    match previous.state {
        AlertState::Firing => {
            let clear_since = *next.clear_since_unix_nano.get_or_insert(now);
            if now.saturating_sub(clear_since) >= nanos(timing.keep_firing_for) {
                AlertState::Resolved
            } else {
                AlertState::Firing
            }
        }
        AlertState::Resolved => AlertState::Resolved,
        _ => AlertState::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::NoData;

    const S: u64 = 1_000_000_000;

    fn timing(for_secs: u64, keep_secs: u64, no_data: NoData) -> Timing {
        Timing {
            for_duration: Duration::from_secs(for_secs),
            keep_firing_for: Duration::from_secs(keep_secs),
            no_data,
        }
    }

    fn high() -> Observation {
        Observation::Value {
            value: 1.0,
            holds: true,
        }
    }

    fn low() -> Observation {
        Observation::Value {
            value: 0.0,
            holds: false,
        }
    }

    /// Runs observations at 1 s steps and returns the states after each.
    fn run(timing: Timing, observations: &[Observation]) -> Vec<AlertState> {
        let mut state = GroupState::new(0);
        let mut states = Vec::new();
        for (second, observation) in observations.iter().enumerate() {
            let now = (second as u64 + 1) * S;
            state = step(&state, *observation, timing, now).0;
            states.push(state.state);
        }
        states
    }

    #[test]
    fn for_delays_firing_and_a_blip_does_not_fire() {
        use AlertState::*;
        // t=1 high (pending since 1), t=2 low (ok), t=3..5 high: fires at t=5 (held 2 s).
        let states = run(
            timing(2, 0, NoData::Ok),
            &[high(), low(), high(), high(), high(), low()],
        );
        assert_eq!(states, [Pending, Ok, Pending, Pending, Firing, Resolved]);
    }

    #[test]
    fn zero_for_fires_at_once_and_resolved_stays_until_the_next_alert() {
        use AlertState::*;
        let states = run(timing(0, 0, NoData::Ok), &[high(), low(), low(), high()]);
        assert_eq!(states, [Firing, Resolved, Resolved, Firing]);
    }

    #[test]
    fn keep_firing_for_holds_through_short_dips() {
        use AlertState::*;
        // Dips at t=2 (back at 3), then low from t=4: resolves at t=6 (2 s clear).
        let states = run(
            timing(0, 2, NoData::Ok),
            &[high(), low(), high(), low(), low(), low()],
        );
        assert_eq!(states, [Firing, Firing, Firing, Firing, Firing, Resolved]);
    }

    #[test]
    fn no_data_follows_the_rule() {
        use AlertState::*;
        let none = Observation::NoData;
        assert_eq!(run(timing(0, 0, NoData::Ok), &[none]), [Ok]);
        assert_eq!(
            run(timing(0, 0, NoData::Firing), &[none, low()]),
            [Firing, Resolved]
        );
        assert_eq!(
            run(timing(0, 0, NoData::Nodata), &[none, high()]),
            [Nodata, Firing]
        );
        // Under `nodata`, missing data never resolves a firing alert.
        assert_eq!(
            run(timing(0, 0, NoData::Nodata), &[high(), none, none, low()]),
            [Firing, Firing, Firing, Resolved]
        );
    }

    #[test]
    fn only_changes_are_reported_and_the_start_is_kept() {
        let timing = timing(1, 0, NoData::Ok);
        let start = GroupState::new(0);
        let (pending, change) = step(&start, high(), timing, S);
        assert_eq!(
            change,
            Some(Change {
                from: AlertState::Ok,
                to: AlertState::Pending
            })
        );
        let (firing, change) = step(&pending, high(), timing, 2 * S);
        assert_eq!(change.map(|change| change.to), Some(AlertState::Firing));
        assert_eq!(
            firing.active_since_unix_nano, S,
            "started when it began to hold"
        );
        let (again, change) = step(&firing, high(), timing, 3 * S);
        assert_eq!(change, None);
        assert_eq!(again.last_value, Some(1.0));
    }
}
