//! The fixed registry of named queries that dashboards are made of.
//!
//! A dashboard file (see `docs/dashboards.md`) never holds SQL: each of its
//! panels names a [`NamedQuery`], which maps to reads of [`crate::QueryService`]
//! with typed parameters (project, window, step and, for some, a function)
//! and answers a [`PanelData`] of one [`Shape`] that chart kinds can draw.
//! [`PanelReads`] runs the named queries of one page: every underlying read
//! is made once however many panels use it, and panels are meant to be
//! awaited together, so a page takes as long as its slowest read.

mod data;
mod named;
mod reads;

pub use data::{Better, Category, Cell, NamedSeries, PanelData, Stat, Table, TableRow, TimeSeries};
pub use named::{FunctionRule, NamedQuery, Shape};
pub use reads::{PanelReads, PanelRequest};
