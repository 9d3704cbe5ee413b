//! What a named query answers: plain data, formatted by whoever draws it.

use serde::Serialize;

/// The answer of a named query, of the query's [`super::Shape`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum PanelData {
    TimeSeries(TimeSeries),
    Categories(Vec<Category>),
    /// Bins with an upper bound in ms and a count per series.
    Histogram {
        series: Vec<String>,
        bins: Vec<(f64, Vec<u64>)>,
    },
    Table(Table),
    Stat(Stat),
}

/// Series over buckets of `step_ms`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSeries {
    /// Bucket starts, Unix milliseconds.
    pub times_ms: Vec<u64>,
    pub step_ms: u64,
    pub series: Vec<NamedSeries>,
}

/// One series; `None` where the value is unknown (drawn as a gap).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedSeries {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// One item's value; `function` when the item is a function (for links).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub label: String,
    pub value: f64,
    pub function: Option<String>,
}

/// Rows of typed cells under column headers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
}

/// One row; `function` when the row is a function (for links).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    pub function: Option<String>,
    pub cells: Vec<Cell>,
}

/// A typed value; the page writes it (dollars, milliseconds, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Cell {
    Text(String),
    Count(u64),
    Ratio(f64),
    Ms(Option<f64>),
    Usd(Option<f64>),
}

/// Which way a figure is better, for the change against the previous window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    /// Neither: the change is shown without judging it.
    Neither,
}

/// One figure, its change against the previous window, and its values per bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    /// `None` when unknown (such as a cost that cannot be priced).
    pub value: Option<f64>,
    /// The figures the change is measured on, this window's and the
    /// previous one's; `None` when either is unknown.
    pub change: Option<(f64, f64)>,
    pub better: Better,
    pub trend: Vec<f64>,
}
