//! Alert rules, their delivery to real webhook receivers, restarts and the evaluator lease.
//! The area's test files, linked into one test binary.

#[path = "../alerts_support/mod.rs"]
mod alerts_support;
#[path = "../support/mod.rs"]
mod support;

mod alerts_delivery;
mod alerts_error_rate;
mod alerts_lease;
mod alerts_restart;
mod alerts_signals;
