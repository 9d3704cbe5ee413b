//! Rows of the `logs` and `metric_points` tables. The collector fills them
//! straight from OTLP (see `collector/src/otlp/`). Field order is column order.

use serde::{Deserialize, Serialize};

/// A row of `logs`.
#[derive(Debug, Clone, PartialEq, Default, clickhouse::Row, Serialize, Deserialize)]
pub struct LogRow {
    pub project: String,
    pub timestamp: u32,
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    /// All zeros when the record has no trace context.
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub flags: u32,
    pub severity_number: u8,
    pub severity_text: String,
    pub service: String,
    pub body: String,
    /// Attribute type code of the body (see `attribute_codec::TypeCode`).
    pub body_type: u8,
    pub event_name: String,
    pub attribute_keys: Vec<String>,
    pub attribute_values: Vec<String>,
    pub attribute_types: Vec<u8>,
    pub resource_keys: Vec<String>,
    pub resource_values: Vec<String>,
    pub resource_types: Vec<u8>,
    pub scope_name: String,
    pub scope_version: String,
    pub dropped_attributes_count: u32,
}

/// `metric_type` values of `metric_points`.
pub mod metric_type {
    pub const GAUGE: i8 = 1;
    pub const SUM: i8 = 2;
    pub const HISTOGRAM: i8 = 3;
    pub const EXPONENTIAL_HISTOGRAM: i8 = 4;
    pub const SUMMARY: i8 = 5;
}

/// `temporality` values of `metric_points` (OTLP `AggregationTemporality`).
pub mod temporality {
    pub const UNSPECIFIED: u8 = 0;
    pub const DELTA: u8 = 1;
    pub const CUMULATIVE: u8 = 2;
}

/// A row of `metric_points`.
#[derive(Debug, Clone, PartialEq, Default, clickhouse::Row, Serialize, Deserialize)]
pub struct MetricPointRow {
    pub project: String,
    pub timestamp: u32,
    pub time_unix_nano: u64,
    pub start_time_unix_nano: u64,
    pub service: String,
    pub metric_name: String,
    pub metric_description: String,
    pub metric_unit: String,
    /// See [`metric_type`].
    pub metric_type: i8,
    /// See [`temporality`].
    pub temporality: u8,
    pub is_monotonic: u8,
    pub series_hash: u64,
    pub value: f64,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub has_min_max: u8,
    pub bucket_counts: Vec<u64>,
    pub explicit_bounds: Vec<f64>,
    pub exp_scale: i32,
    pub exp_zero_count: u64,
    pub exp_positive_offset: i32,
    pub exp_positive_bucket_counts: Vec<u64>,
    pub exp_negative_offset: i32,
    pub exp_negative_bucket_counts: Vec<u64>,
    pub quantiles: Vec<f64>,
    pub quantile_values: Vec<f64>,
    pub flags: u32,
    pub attribute_keys: Vec<String>,
    pub attribute_values: Vec<String>,
    pub attribute_types: Vec<u8>,
    pub resource_keys: Vec<String>,
    pub resource_values: Vec<String>,
    pub resource_types: Vec<u8>,
    pub scope_name: String,
    pub scope_version: String,
}
