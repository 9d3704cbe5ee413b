//! Which invocations a read covers: the binds of the `scope_selection`,
//! `invocation_scope` and `settled_invocations` fragments
//! (`query/sql/fragments/`), which every template over
//! `{effective_invocations}` includes. A read splits its window where the
//! settled invocations end (`super::settle`).

use crate::sql::Params;
use crate::time_window::TimeWindow;
use tracehouse_model::ProjectId;

const MINUTE: u32 = 60;
const MINUTE_NANOS: u64 = 60_000_000_000;

fn seconds(unix_nano: u64) -> u32 {
    u32::try_from(unix_nano / 1_000_000_000).unwrap_or(u32::MAX)
}

fn greatest_common_divisor(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        greatest_common_divisor(b, a % b)
    }
}

/// A project, some functions, some traces and a window.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationScope {
    pub project: ProjectId,
    /// Empty: every function.
    pub functions: Vec<String>,
    /// Hex trace ids; empty: every trace.
    pub trace_ids: Vec<String>,
    /// Invocations starting in `[start, end)` count.
    pub window: TimeWindow,
}

impl InvocationScope {
    /// Every invocation of the project in `window`.
    pub fn window(project: &ProjectId, window: &TimeWindow) -> Self {
        Self {
            project: project.clone(),
            functions: Vec::new(),
            trace_ids: Vec::new(),
            window: *window,
        }
    }

    /// The invocations of one function in `window`.
    pub fn function(project: &ProjectId, function: &str, window: &TimeWindow) -> Self {
        Self {
            functions: vec![function.to_owned()],
            ..Self::window(project, window)
        }
    }

    /// The invocations of `functions` in the traces `trace_ids` (hex) that
    /// start in `window`: the window and the functions prune the read, as
    /// the invocations table is sorted by function and time.
    pub fn traces(
        project: &ProjectId,
        functions: Vec<String>,
        trace_ids: Vec<String>,
        window: &TimeWindow,
    ) -> Self {
        Self {
            functions,
            trace_ids,
            ..Self::window(project, window)
        }
    }

    /// The binds of the functions part of `scope_selection`: project and functions.
    fn function_params(&self) -> Params {
        Params::new()
            .set("project", self.project.as_str())
            .set("all_functions", self.functions.is_empty())
            .set("functions", self.functions.clone())
    }

    /// The binds of `scope_selection`: project, functions and traces.
    fn selection_params(&self) -> Params {
        self.function_params()
            .set("all_traces", self.trace_ids.is_empty())
            .set("trace_ids", self.trace_ids.clone())
    }

    /// The binds of `invocation_window`: project, functions and window.
    pub fn window_params(&self) -> Params {
        self.with_window(self.function_params())
    }

    /// `params` and the window's bounds, in seconds and nanoseconds.
    fn with_window(&self, params: Params) -> Params {
        params
            .set("from_s", self.window.start_seconds())
            .set("to_s", self.window.end_seconds())
            .set("from_ns", self.window.start_unix_nano)
            .set("to_ns", self.window.end_unix_nano)
    }

    /// The binds of `live_invocations` over the whole window: what the
    /// settler stores a window with.
    pub fn live_params(&self) -> Params {
        self.selection_params()
            .set("split_s", self.window.start_seconds())
            .set("split_ns", self.window.start_unix_nano)
            .set("to_s", self.window.end_seconds())
            .set("to_ns", self.window.end_unix_nano)
    }

    /// The binds of `effective_invocations` with nothing settled: the
    /// whole window is computed live.
    pub fn params(&self) -> Params {
        self.params_split(self.window.start_unix_nano)
    }

    /// The binds of `effective_slots` in buckets of `step_seconds` with
    /// nothing settled.
    pub fn slot_params(&self, step_seconds: Option<u32>) -> Params {
        self.slot_params_split(self.window.start_unix_nano, step_seconds)
    }

    /// The binds of `effective_invocations` read from settled invocations
    /// before `settled_until` (unix nanos) and live from there on, the split
    /// kept inside the window.
    pub fn params_split(&self, settled_until: u64) -> Params {
        let split = settled_until
            .max(self.window.start_unix_nano)
            .min(self.window.end_unix_nano);
        let split_s = seconds(split);
        self.with_window(self.selection_params())
            .set("split_s", split_s)
            .set("split_ns", split)
            .set("rollup_from_s", split_s)
            .set("rollup_to_s", split_s)
    }

    /// The binds of `effective_slots`, split as [`Self::params_split`], in
    /// slots that buckets of `step_seconds` are made of (`None`: no buckets).
    /// The whole minutes of the settled half come summed from
    /// `invocation_minutes` when every bucket is whole minutes and the scope
    /// is not one of traces; a slot is the longest time dividing both the
    /// step and a minute.
    pub fn slot_params_split(&self, settled_until: u64, step_seconds: Option<u32>) -> Params {
        let params = self.params_split(settled_until);
        let step = step_seconds.unwrap_or(MINUTE).max(1);
        let slot = greatest_common_divisor(step, MINUTE);
        let split = settled_until
            .max(self.window.start_unix_nano)
            .min(self.window.end_unix_nano);
        let first_whole =
            seconds(self.window.start_unix_nano.div_ceil(MINUTE_NANOS) * MINUTE_NANOS);
        let last_whole = seconds(split / MINUTE_NANOS * MINUTE_NANOS);
        let params = params.set("slot_s", slot);
        if !step.is_multiple_of(MINUTE) || !self.trace_ids.is_empty() || first_whole >= last_whole {
            return params;
        }
        params
            .set("rollup_from_s", first_whole)
            .set("rollup_to_s", last_whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Value;

    fn scope(start_s: u64, end_s: u64) -> InvocationScope {
        let window = TimeWindow {
            start_unix_nano: start_s * 1_000_000_000 + 5,
            end_unix_nano: end_s * 1_000_000_000,
        };
        InvocationScope::window(&ProjectId::default(), &window)
    }

    /// `rollup_from_s`, `rollup_to_s` and `slot_s` of a split at `split_s`.
    fn rollup(scope: &InvocationScope, split_s: u64, step: Option<u32>) -> [Option<Value>; 3] {
        let params = scope.slot_params_split(split_s * 1_000_000_000, step);
        ["rollup_from_s", "rollup_to_s", "slot_s"].map(|name| params.get(name).cloned())
    }

    fn seconds(values: [u32; 3]) -> [Option<Value>; 3] {
        values.map(|value| Some(Value::UInt32(value)))
    }

    /// Whole minutes of the settled half only, in slots dividing the step.
    #[test]
    fn summed_minutes_are_the_whole_settled_ones() {
        let scope = scope(90, 900);
        assert_eq!(rollup(&scope, 610, Some(300)), seconds([120, 600, 60]));
        assert_eq!(rollup(&scope, 610, Some(90)), seconds([610, 610, 30]));
        let nothing_settled = scope.slot_params_split(0, None);
        assert_eq!(
            nothing_settled.get("rollup_from_s"),
            nothing_settled.get("rollup_to_s")
        );
    }

    /// The sums have no trace ids: a scope of traces reads every settled
    /// invocation from the facts (`settled_invocations` relies on it).
    #[test]
    fn a_scope_of_traces_sums_no_minutes() {
        let traces = InvocationScope {
            trace_ids: vec!["0af7651916cd43dd8448eb211c80319c".to_owned()],
            ..scope(90, 900)
        };
        let [from, to, _] = rollup(&traces, 610, Some(300));
        assert_eq!(from, to);
    }
}
