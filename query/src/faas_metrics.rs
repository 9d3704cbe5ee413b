//! Functions known only from FaaS metrics (`faas.invocations`,
//! `faas.errors`, `faas.coldstarts`, `faas.invoke_duration`,
//! `faas.init_duration`, ...), used for functions that sent no spans in the
//! window so that no invocation is counted twice.
//!
//! Points are turned into increments per time series: delta points are
//! increments as they are; a cumulative series contributes the difference
//! between consecutive points (a drop, or a new start time, is a reset and
//! the new value counts whole), and its first point in the window counts
//! whole only when the series started inside the window.

use crate::functions::{
    window_seconds, DurationSummary, FunctionSummary, InitSummary, TimeseriesBucket,
};
use crate::pricing::{BillingUnits, GroupTraits, Pricing, SECONDS_PER_MONTH};
use crate::time_window::TimeWindow;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_model::invocation::{memory_mb_from_number, normalize_arch};

const TEMPORALITY_CUMULATIVE: u8 = 2;
const TYPE_SUM: i8 = 2;
const TYPE_HISTOGRAM: i8 = 3;

/// A row of `faas_metric_points.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct FaasPointRow {
    pub function: String,
    pub service: String,
    pub metric_name: String,
    pub metric_unit: String,
    pub metric_type: i8,
    pub temporality: u8,
    pub series_hash: u64,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub value: f64,
    pub count: u64,
    pub sum: f64,
    pub bucket_counts: Vec<u64>,
    pub explicit_bounds: Vec<f64>,
    pub cloud_provider: String,
    pub cloud_platform: String,
    pub region: String,
    pub max_memory: String,
    pub host_arch: String,
}

/// What one point adds to its series in the window.
#[derive(Debug, Clone, Default, PartialEq)]
struct Increment {
    time_unix_nano: u64,
    value: f64,
    count: u64,
    sum: f64,
    bucket_counts: Vec<u64>,
    explicit_bounds: Vec<f64>,
}

/// A merged histogram in milliseconds.
#[derive(Debug, Clone, Default, PartialEq)]
struct Histogram {
    count: u64,
    sum_ms: f64,
    bucket_counts: Vec<u64>,
    bounds_ms: Vec<f64>,
}

impl Histogram {
    fn add(&mut self, increment: &Increment, unit_to_ms: f64) {
        let bounds_ms: Vec<f64> = increment
            .explicit_bounds
            .iter()
            .map(|bound| bound * unit_to_ms)
            .collect();
        if self.bucket_counts.is_empty() {
            self.bounds_ms = bounds_ms.clone();
            self.bucket_counts = vec![0; increment.bucket_counts.len()];
        }
        self.count += increment.count;
        self.sum_ms += increment.sum * unit_to_ms;
        // Points with other bounds still count; only their buckets are skipped.
        if self.bounds_ms == bounds_ms && self.bucket_counts.len() == increment.bucket_counts.len()
        {
            for (total, added) in self.bucket_counts.iter_mut().zip(&increment.bucket_counts) {
                *total += added;
            }
        }
    }

    /// The `level` quantile by linear interpolation inside its bucket.
    fn quantile(&self, level: f64) -> Option<f64> {
        let total: u64 = self.bucket_counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = level * total as f64;
        let mut seen = 0u64;
        for (index, count) in self.bucket_counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            if (seen + count) as f64 >= rank {
                let lower = if index == 0 {
                    0.0
                } else {
                    self.bounds_ms[index - 1]
                };
                let upper = self.bounds_ms.get(index).copied().unwrap_or(lower);
                let within = (rank - seen as f64) / *count as f64;
                return Some(lower + (upper - lower) * within.clamp(0.0, 1.0));
            }
            seen += count;
        }
        self.bounds_ms.last().copied()
    }
}

/// Aggregated FaaS metrics of one function (over the window or a bucket).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsOnlyFunction {
    pub function: String,
    pub service: String,
    pub provider: String,
    pub region: String,
    pub memory_mb: u32,
    pub arch: String,
    invocations: f64,
    errors: f64,
    cold_starts: f64,
    timeouts: f64,
    durations: Histogram,
    init_durations: Histogram,
}

impl MetricsOnlyFunction {
    /// Every invocation, failed ones included: the `faas.invoke_duration`
    /// count when there is one (it records each invocation), else
    /// `faas.invocations` + `faas.errors` + `faas.timeouts` (the semantic
    /// conventions, and the OpenTelemetry Lambda layer, count only
    /// successful invocations in `faas.invocations`).
    fn invocation_count(&self) -> u64 {
        let counted = if self.durations.count > 0 {
            self.durations.count as f64
        } else {
            self.invocations + self.errors + self.timeouts
        };
        counted.round().max(0.0) as u64
    }

    fn add(&mut self, metric_name: &str, unit: &str, increment: &Increment) {
        let unit_to_ms = if unit == "s" { 1000.0 } else { 1.0 };
        match metric_name {
            "faas.invocations" => self.invocations += increment.value,
            "faas.errors" => self.errors += increment.value,
            "faas.coldstarts" => self.cold_starts += increment.value,
            "faas.timeouts" => self.timeouts += increment.value,
            "faas.invoke_duration" => self.durations.add(increment, unit_to_ms),
            "faas.init_duration" => self.init_durations.add(increment, unit_to_ms),
            _ => {}
        }
    }

    fn fill_traits(&mut self, point: &FaasPointRow) {
        if self.provider.is_empty() {
            self.provider = if point.cloud_provider.is_empty() {
                ["aws", "azure", "gcp"]
                    .into_iter()
                    .find(|prefix| point.cloud_platform.starts_with(prefix))
                    .unwrap_or("")
                    .to_owned()
            } else {
                point.cloud_provider.to_ascii_lowercase()
            };
        }
        if self.region.is_empty() {
            self.region = point.region.clone();
        }
        if self.memory_mb == 0 {
            self.memory_mb = point
                .max_memory
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|number| memory_mb_from_number(number as i64))
                .unwrap_or(0);
        }
        if self.arch.is_empty() {
            self.arch = normalize_arch(&point.host_arch).unwrap_or("").to_owned();
        }
        if self.service.is_empty() {
            self.service = point.service.clone();
        }
    }

    /// Billing units without per-invocation rounding (a histogram has no
    /// single invocations): a lower bound by less than one step each.
    fn billing_units(&self) -> BillingUnits {
        let count = self.invocation_count();
        let billed_ms = self.durations.sum_ms.ceil().max(0.0) as u64;
        BillingUnits {
            invocations: count,
            billed_ms_aws: billed_ms,
            billed_ms_azure: billed_ms.max(count * 100),
            billed_ms_gcp: billed_ms,
        }
    }

    fn cost(&self, pricing: &Pricing) -> Result<(f64, f64), String> {
        let traits = GroupTraits {
            function: &self.function,
            provider: &self.provider,
            region: &self.region,
            arch: &self.arch,
            memory_mb: self.memory_mb,
        };
        pricing
            .price(&traits, &self.billing_units())
            .map(|cost| (cost.usd, cost.gb_seconds))
    }
}

/// Increments of every point, each with its series' metric name and unit.
fn increments(points: Vec<FaasPointRow>, range: &TimeWindow) -> Vec<(FaasPointRow, Increment)> {
    let mut series: BTreeMap<(String, u64), Vec<FaasPointRow>> = BTreeMap::new();
    for point in points {
        series
            .entry((point.metric_name.clone(), point.series_hash))
            .or_default()
            .push(point);
    }
    let window_start = range.start_unix_nano;
    let mut result = Vec::new();
    for (_, mut points) in series {
        points.sort_by_key(|point| point.time_unix_nano);
        let mut previous: Option<Increment> = None;
        let mut previous_start = 0;
        for point in points {
            if point.metric_type != TYPE_SUM && point.metric_type != TYPE_HISTOGRAM {
                continue;
            }
            let whole = Increment {
                time_unix_nano: point.time_unix_nano,
                value: point.value,
                count: point.count,
                sum: point.sum,
                bucket_counts: point.bucket_counts.clone(),
                explicit_bounds: point.explicit_bounds.clone(),
            };
            let increment = if point.temporality != TEMPORALITY_CUMULATIVE {
                Some(whole.clone())
            } else {
                match &previous {
                    None if point.start_time_unix_nano >= window_start => Some(whole.clone()),
                    None => None,
                    Some(before) => {
                        let reset = point.start_time_unix_nano != previous_start
                            || whole.value < before.value
                            || whole.count < before.count
                            || whole.bucket_counts.len() != before.bucket_counts.len();
                        if reset {
                            Some(whole.clone())
                        } else {
                            Some(Increment {
                                time_unix_nano: whole.time_unix_nano,
                                value: whole.value - before.value,
                                count: whole.count - before.count,
                                sum: whole.sum - before.sum,
                                bucket_counts: whole
                                    .bucket_counts
                                    .iter()
                                    .zip(&before.bucket_counts)
                                    .map(|(now, then)| now.saturating_sub(*then))
                                    .collect(),
                                explicit_bounds: whole.explicit_bounds.clone(),
                            })
                        }
                    }
                }
            };
            previous_start = point.start_time_unix_nano;
            previous = Some(whole);
            if let Some(increment) = increment {
                result.push((point, increment));
            }
        }
    }
    result
}

/// Per-function aggregates of the points of functions not in `with_spans`;
/// only increments in bucket `only_bucket` (start, step) when given.
pub fn aggregate(
    points: Vec<FaasPointRow>,
    range: &TimeWindow,
    only_bucket: Option<(u64, u64)>,
    with_spans: &BTreeSet<String>,
) -> Vec<MetricsOnlyFunction> {
    let points: Vec<FaasPointRow> = points
        .into_iter()
        .filter(|point| !with_spans.contains(&point.function))
        .collect();
    let mut functions: BTreeMap<String, MetricsOnlyFunction> = BTreeMap::new();
    for (point, increment) in increments(points, range) {
        let function =
            functions
                .entry(point.function.clone())
                .or_insert_with(|| MetricsOnlyFunction {
                    function: point.function.clone(),
                    ..Default::default()
                });
        function.fill_traits(&point);
        if let Some((start_seconds, step_seconds)) = only_bucket {
            let seconds = increment.time_unix_nano / 1_000_000_000;
            if seconds / step_seconds * step_seconds != start_seconds {
                continue;
            }
        }
        function.add(&point.metric_name, &point.metric_unit, &increment);
    }
    functions
        .into_values()
        .filter(|function| only_bucket.is_some() || function.invocation_count() > 0)
        .collect()
}

/// Init duration percentiles per function from `faas.init_duration`
/// histograms, for every function that sent them.
pub fn init_durations(
    points: &[FaasPointRow],
    range: &TimeWindow,
) -> BTreeMap<String, InitSummary> {
    let init_points: Vec<FaasPointRow> = points
        .iter()
        .filter(|point| point.metric_name == "faas.init_duration")
        .cloned()
        .collect();
    let mut histograms: BTreeMap<String, Histogram> = BTreeMap::new();
    for (point, increment) in increments(init_points, range) {
        let unit_to_ms = if point.metric_unit == "s" {
            1000.0
        } else {
            1.0
        };
        histograms
            .entry(point.function.clone())
            .or_default()
            .add(&increment, unit_to_ms);
    }
    histograms
        .into_iter()
        .filter_map(|(function, histogram)| {
            let p50 = histogram.quantile(0.5)?;
            let p95 = histogram.quantile(0.95).unwrap_or(p50);
            Some((function, InitSummary { p50, p95 }))
        })
        .collect()
}

/// The API summary of a metrics-only function.
pub fn summary(
    function: MetricsOnlyFunction,
    pricing: &Pricing,
    range: &TimeWindow,
) -> FunctionSummary {
    let invocations = function.invocation_count();
    let errors = function.errors.round().max(0.0) as u64;
    let cold_starts = function.cold_starts.round().max(0.0) as u64;
    let rate = |part: u64| {
        if invocations == 0 {
            0.0
        } else {
            part as f64 / invocations as f64
        }
    };
    let cost = function.cost(pricing);
    let cost_usd = cost.as_ref().ok().map(|(usd, _)| *usd);
    let durations = &function.durations;
    FunctionSummary {
        function: function.function.clone(),
        service: function.service.clone(),
        provider: (!function.provider.is_empty()).then(|| function.provider.clone()),
        region: (!function.region.is_empty()).then(|| function.region.clone()),
        memory_mb: (function.memory_mb > 0).then_some(function.memory_mb),
        arch: (!function.arch.is_empty()).then(|| function.arch.clone()),
        source: "metrics",
        invocations,
        errors,
        error_rate: rate(errors),
        cold_starts,
        cold_start_rate: rate(cold_starts),
        timeouts: Some(function.timeouts.round().max(0.0) as u64),
        duration_ms: (durations.count > 0).then(|| DurationSummary {
            avg: durations.sum_ms / durations.count as f64,
            p50: durations.quantile(0.5).unwrap_or(0.0),
            p95: durations.quantile(0.95).unwrap_or(0.0),
            p99: durations.quantile(0.99).unwrap_or(0.0),
            max: durations.quantile(1.0).unwrap_or(0.0),
        }),
        warm_p50_ms: None,
        cold_p50_ms: None,
        cold_start_penalty_ms: None,
        cold_start_penalty_usd: None,
        init_duration_ms: function
            .init_durations
            .quantile(0.5)
            .map(|p50| InitSummary {
                p50,
                p95: function.init_durations.quantile(0.95).unwrap_or(p50),
            }),
        gb_seconds: cost.as_ref().ok().map(|(_, gb_seconds)| *gb_seconds),
        cost_usd,
        cost_unknown_reason: cost.err(),
        cost_per_million_invocations_usd: cost_usd
            .filter(|_| invocations > 0)
            .map(|usd| usd / invocations as f64 * 1e6),
        projected_monthly_cost_usd: cost_usd
            .map(|usd| usd / window_seconds(range) * SECONDS_PER_MONTH),
    }
}

/// Buckets of a metrics-only function, and why costs are null if they are.
pub fn timeseries(
    points: Vec<FaasPointRow>,
    pricing: &Pricing,
    range: &TimeWindow,
    step_seconds: u32,
    starts: &[u32],
) -> (Vec<TimeseriesBucket>, Option<String>) {
    let step = u64::from(step_seconds.max(1));
    let mut reason = None;
    let buckets = starts
        .iter()
        .map(|start| {
            let aggregated = aggregate(
                points.clone(),
                range,
                Some((u64::from(*start), step)),
                &BTreeSet::new(),
            );
            let time = u64::from(*start) * 1000;
            let Some(function) = aggregated.into_iter().next() else {
                return TimeseriesBucket {
                    time,
                    invocations: 0,
                    errors: 0,
                    cold_starts: 0,
                    p50_ms: Some(0.0),
                    p95_ms: Some(0.0),
                    cost_usd: Some(0.0),
                };
            };
            let cost = function.cost(pricing);
            if let Err(why) = &cost {
                reason.get_or_insert_with(|| why.clone());
            }
            TimeseriesBucket {
                time,
                invocations: function.invocation_count(),
                errors: function.errors.round().max(0.0) as u64,
                cold_starts: function.cold_starts.round().max(0.0) as u64,
                p50_ms: function.durations.quantile(0.5).or(Some(0.0)),
                p95_ms: function.durations.quantile(0.95).or(Some(0.0)),
                cost_usd: cost.ok().map(|(usd, _)| usd),
            }
        })
        .collect::<Vec<_>>();
    let buckets = if reason.is_some() {
        buckets
            .into_iter()
            .map(|bucket| TimeseriesBucket {
                cost_usd: None,
                ..bucket
            })
            .collect()
    } else {
        buckets
    };
    (buckets, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, temporality: u8, start: u64, time: u64, value: f64) -> FaasPointRow {
        FaasPointRow {
            function: "f".to_owned(),
            service: "f".to_owned(),
            metric_name: name.to_owned(),
            metric_unit: "ms".to_owned(),
            metric_type: TYPE_SUM,
            temporality,
            series_hash: 1,
            start_time_unix_nano: start,
            time_unix_nano: time,
            value,
            count: 0,
            sum: 0.0,
            bucket_counts: vec![],
            explicit_bounds: vec![],
            cloud_provider: "aws".to_owned(),
            cloud_platform: String::new(),
            region: String::new(),
            max_memory: "134217728".to_owned(),
            host_arch: "arm64".to_owned(),
        }
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn cumulative_series_count_differences_and_resets() {
        let range = TimeWindow {
            start_unix_nano: 100 * SECOND,
            end_unix_nano: 200 * SECOND,
        };
        // Started before the window: the first point is the baseline.
        let points = vec![
            point("faas.invocations", 2, 50 * SECOND, 110 * SECOND, 10.0),
            point("faas.invocations", 2, 50 * SECOND, 120 * SECOND, 15.0),
            // Reset: a new start time, counts whole.
            point("faas.invocations", 2, 125 * SECOND, 130 * SECOND, 4.0),
        ];
        let functions = aggregate(points, &range, None, &BTreeSet::new());
        assert_eq!(functions[0].invocation_count(), 9);
        assert_eq!(functions[0].memory_mb, 128);
        assert_eq!(functions[0].arch, "arm64");
        // Delta points add up; functions with spans are skipped.
        let points = vec![
            point("faas.invocations", 1, 0, 110 * SECOND, 3.0),
            point("faas.invocations", 1, 0, 120 * SECOND, 4.0),
        ];
        assert_eq!(
            aggregate(points.clone(), &range, None, &BTreeSet::new())[0].invocation_count(),
            7
        );
        let with_spans: BTreeSet<String> = ["f".to_owned()].into_iter().collect();
        assert!(aggregate(points, &range, None, &with_spans).is_empty());
    }

    #[test]
    fn histogram_quantiles_interpolate_inside_buckets() {
        let histogram = Histogram {
            count: 4,
            sum_ms: 100.0,
            bucket_counts: vec![0, 2, 2, 0],
            bounds_ms: vec![10.0, 20.0, 40.0],
        };
        assert_eq!(histogram.quantile(0.5), Some(20.0));
        assert_eq!(histogram.quantile(0.75), Some(30.0));
    }
}
