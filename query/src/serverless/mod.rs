//! The serverless read side: functions, their time series, cold starts and
//! costs, and the invocation totals of chains, all from one scope of
//! invocations and one SQL fragment (`query/sql/fragments/live_invocations.sql`:
//! first starts, the cold-start rule, billing units), read back from the
//! settled invocations it stored for minutes whose data has arrived
//! (`settle`).
//!
//! Dependencies point one way: `cost` (the only pricing glue) ← `view`
//! (output types, one constructor each) ← `from_spans` / `from_metrics`
//! (rows to view facts) ← `service` (the reads); `scope` gives every read
//! its binds, and `agree` reads counts and their prices as one answer.

pub mod agree;
pub mod cost;
pub mod detail;
pub mod from_metrics;
pub mod from_spans;
pub mod scope;
pub mod service;
pub mod settle;
pub mod view;

pub use cost::{CostTotals, FunctionCost};
pub use scope::InvocationScope;
pub use settle::{SettleOptions, Settler, ARRIVAL_MARGIN_SECONDS};
pub use view::{
    ColdStartView, ColdStarts, DurationSummary, FunctionList, FunctionSummary, FunctionTimeseries,
    FunctionTotals, HistogramBucket, InitSummary, Source, TimeseriesBucket,
};
