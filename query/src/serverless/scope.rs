//! Which invocations a read covers: the binds of the `invocation_scope`
//! fragment (`query/sql/fragments/invocation_scope.sql`), which every
//! template over `{effective_invocations}` includes.

use crate::sql::Params;
use crate::time_window::TimeWindow;
use tracehouse_model::ProjectId;

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

    /// The binds of `invocation_window`: project, functions and window.
    pub fn window_params(&self) -> Params {
        Params::new()
            .set("project", self.project.as_str())
            .set("all_functions", self.functions.is_empty())
            .set("functions", self.functions.clone())
            .set("from_s", self.window.start_seconds())
            .set("to_s", self.window.end_seconds())
            .set("from_ns", self.window.start_unix_nano)
            .set("to_ns", self.window.end_unix_nano)
    }

    /// The binds of `invocation_scope` (and so of `effective_invocations`).
    pub fn params(&self) -> Params {
        self.window_params()
            .set("all_traces", self.trace_ids.is_empty())
            .set("trace_ids", self.trace_ids.clone())
    }
}
