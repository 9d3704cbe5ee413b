//! Functions as their invocation records say: rows of the templates over
//! `{effective_invocations}` turned into view facts.

use super::cost::CostTotals;
use super::view::{
    BucketFacts, ColdStartView, DurationSummary, FunctionFacts, FunctionIdentity, HistogramBucket,
    InitSummary, Source,
};
use crate::pricing::Pricing;
use serde::Deserialize;

/// A row of `function_stats.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct FunctionStatsRow {
    pub function: String,
    pub service: String,
    pub provider: String,
    pub region: String,
    pub memory_mb: u32,
    pub arch: String,
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub duration_quantiles_ms: Vec<f64>,
    pub warm_quantiles_ms: Vec<f64>,
    pub cold_quantiles_ms: Vec<f64>,
    pub init_count: u64,
    pub init_quantiles_ms: Vec<f64>,
}

/// A row of `function_timeseries.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct TimeseriesRow {
    pub bucket: u32,
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub duration_quantiles_ms: Vec<f64>,
}

/// A row of `coldstart_invocations.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct ColdStartRow {
    pub trace_id: String,
    pub span_id: String,
    pub instance: String,
    pub start_time_unix_nano: u64,
    pub duration_ns: u64,
    pub report_has_init: u8,
    pub report_init_ms: f64,
}

/// A row of `duration_histogram.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct HistogramRow {
    pub le_ms: f64,
    pub cold_count: u64,
    pub warm_count: u64,
}

pub(crate) fn quantile(values: &[f64], index: usize) -> Option<f64> {
    values.get(index).copied().filter(|value| value.is_finite())
}

fn known(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl FunctionStatsRow {
    /// What the telemetry says, the configuration filling the gaps.
    fn identity(&self, pricing: &Pricing) -> FunctionIdentity {
        let configured = pricing.functions.get(&self.function);
        FunctionIdentity {
            function: self.function.clone(),
            service: self.service.clone(),
            provider: known(&self.provider).or_else(|| configured.and_then(|c| c.provider.clone())),
            region: known(&self.region),
            memory_mb: (self.memory_mb > 0)
                .then_some(self.memory_mb)
                .or_else(|| configured.and_then(|c| c.memory_mb)),
            arch: known(&self.arch).or_else(|| configured.and_then(|c| c.arch.clone())),
        }
    }

    /// The facts of this function, priced by `cost`.
    pub fn facts(&self, cost: &CostTotals, pricing: &Pricing) -> FunctionFacts {
        let warm_count = self.invocations.saturating_sub(self.cold_starts);
        FunctionFacts {
            identity: self.identity(pricing),
            source: Source::Spans,
            invocations: self.invocations,
            errors: self.errors,
            cold_starts: self.cold_starts,
            timeouts: None,
            duration_ms: Some(DurationSummary {
                avg: self.avg_ms,
                p50: quantile(&self.duration_quantiles_ms, 0).unwrap_or(0.0),
                p95: quantile(&self.duration_quantiles_ms, 1).unwrap_or(0.0),
                p99: quantile(&self.duration_quantiles_ms, 2).unwrap_or(0.0),
                max: self.max_ms,
            }),
            warm_p50_ms: (warm_count > 0)
                .then(|| quantile(&self.warm_quantiles_ms, 0))
                .flatten(),
            cold_p50_ms: (self.cold_starts > 0)
                .then(|| quantile(&self.cold_quantiles_ms, 0))
                .flatten(),
            init_duration_ms: (self.init_count > 0).then(|| InitSummary {
                p50: quantile(&self.init_quantiles_ms, 0).unwrap_or(0.0),
                p95: quantile(&self.init_quantiles_ms, 1).unwrap_or(0.0),
            }),
            cost: cost.function_cost(),
        }
    }
}

impl TimeseriesRow {
    /// The facts of this bucket, priced by `cost`.
    pub fn facts(&self, cost: &CostTotals) -> BucketFacts {
        BucketFacts {
            invocations: self.invocations,
            errors: self.errors,
            cold_starts: self.cold_starts,
            p50_ms: quantile(&self.duration_quantiles_ms, 0),
            p95_ms: quantile(&self.duration_quantiles_ms, 1),
            cost_usd: cost.usd(),
        }
    }
}

impl From<ColdStartRow> for ColdStartView {
    fn from(row: ColdStartRow) -> Self {
        Self {
            trace_id: row.trace_id.to_ascii_lowercase(),
            span_id: row.span_id.to_ascii_lowercase(),
            instance: row.instance,
            start_time_unix_nano: row.start_time_unix_nano,
            duration_ms: row.duration_ns as f64 / 1e6,
            init_duration_ms: (row.report_has_init == 1).then_some(row.report_init_ms),
        }
    }
}

impl From<HistogramRow> for HistogramBucket {
    fn from(row: HistogramRow) -> Self {
        Self {
            le_ms: row.le_ms,
            cold: row.cold_count,
            warm: row.warm_count,
        }
    }
}
