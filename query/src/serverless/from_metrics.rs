//! Functions known only from FaaS metrics (`faas.invocations`,
//! `faas.errors`, `faas.coldstarts`, `faas.timeouts`,
//! `faas.invoke_duration`, `faas.init_duration`), used for functions that
//! sent no spans in the window so that no invocation is counted twice.
//!
//! Points are turned into increments per time series once: delta points
//! are increments as they are; a cumulative series contributes the
//! difference between consecutive points (a drop, or a new start time, is a
//! reset and the new value counts whole), and its first point in the window
//! counts whole only when the series started inside the window. Window
//! totals and time-series buckets add up the same increments.

use super::cost::FunctionCost;
use super::view::{
    BucketFacts, DurationSummary, FunctionFacts, FunctionIdentity, InitSummary, Source,
};
use crate::pricing::{GroupTraits, Pricing};
use crate::time_window::TimeWindow;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_model::invocation::{memory_mb_from_number, normalize_arch, provider_of};
use tracehouse_schema::signal_rows::{metric_type, temporality};

/// The FaaS metric names read (`faas_metric_points.sql` selects the same).
pub mod names {
    pub const INVOCATIONS: &str = "faas.invocations";
    pub const ERRORS: &str = "faas.errors";
    pub const COLD_STARTS: &str = "faas.coldstarts";
    pub const TIMEOUTS: &str = "faas.timeouts";
    pub const INVOKE_DURATION: &str = "faas.invoke_duration";
    pub const INIT_DURATION: &str = "faas.init_duration";
}

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

impl Increment {
    fn whole(point: &FaasPointRow) -> Self {
        Self {
            time_unix_nano: point.time_unix_nano,
            value: point.value,
            count: point.count,
            sum: point.sum,
            bucket_counts: point.bucket_counts.clone(),
            explicit_bounds: point.explicit_bounds.clone(),
        }
    }

    /// `self` after `before` in the same cumulative series, or whole after a reset.
    fn since(&self, before: &Increment, reset: bool) -> Self {
        let reset = reset
            || self.value < before.value
            || self.count < before.count
            || self.bucket_counts.len() != before.bucket_counts.len();
        if reset {
            return self.clone();
        }
        Self {
            time_unix_nano: self.time_unix_nano,
            value: self.value - before.value,
            count: self.count - before.count,
            sum: self.sum - before.sum,
            bucket_counts: self
                .bucket_counts
                .iter()
                .zip(&before.bucket_counts)
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
            explicit_bounds: self.explicit_bounds.clone(),
        }
    }
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
                let lower = match index.checked_sub(1) {
                    Some(previous) => self.bounds_ms.get(previous).copied().unwrap_or(0.0),
                    None => 0.0,
                };
                let upper = self.bounds_ms.get(index).copied().unwrap_or(lower);
                let within = (rank - seen as f64) / *count as f64;
                return Some(lower + (upper - lower) * within.clamp(0.0, 1.0));
            }
            seen += count;
        }
        self.bounds_ms.last().copied()
    }

    fn init_summary(&self) -> Option<InitSummary> {
        let p50 = self.quantile(0.5)?;
        Some(InitSummary {
            p50,
            p95: self.quantile(0.95).unwrap_or(p50),
        })
    }
}

/// What the resource attributes of a function's points say.
#[derive(Debug, Clone, Default, PartialEq)]
struct Traits {
    service: String,
    provider: String,
    region: String,
    memory_mb: u32,
    arch: String,
}

impl Traits {
    /// Fills what is still unknown from `point`.
    fn fill(&mut self, point: &FaasPointRow) {
        let fill = |known: &mut String, value: String| {
            if known.is_empty() {
                *known = value;
            }
        };
        let cloud_provider = Some(point.cloud_provider.as_str()).filter(|text| !text.is_empty());
        fill(
            &mut self.provider,
            provider_of(cloud_provider, &point.cloud_platform),
        );
        fill(&mut self.region, point.region.clone());
        fill(
            &mut self.arch,
            normalize_arch(&point.host_arch).unwrap_or("").to_owned(),
        );
        fill(&mut self.service, point.service.clone());
        if self.memory_mb == 0 {
            self.memory_mb = point
                .max_memory
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|number| memory_mb_from_number(number as i64))
                .unwrap_or(0);
        }
    }

    fn group<'a>(&'a self, function: &'a str) -> GroupTraits<'a> {
        GroupTraits {
            function,
            provider: &self.provider,
            region: &self.region,
            arch: &self.arch,
            memory_mb: self.memory_mb,
        }
    }

    fn identity(&self, function: &str) -> FunctionIdentity {
        let known = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        FunctionIdentity {
            function: function.to_owned(),
            service: self.service.clone(),
            provider: known(&self.provider),
            region: known(&self.region),
            memory_mb: (self.memory_mb > 0).then_some(self.memory_mb),
            arch: known(&self.arch),
        }
    }
}

/// Sums of increments (over the window or a bucket).
#[derive(Debug, Clone, Default, PartialEq)]
struct Counters {
    invocations: f64,
    errors: f64,
    cold_starts: f64,
    timeouts: f64,
    durations: Histogram,
    init_durations: Histogram,
}

fn whole(value: f64) -> u64 {
    value.round().max(0.0) as u64
}

impl Counters {
    /// `faas.invocations`, else the `faas.invoke_duration` count.
    /// Every invocation, failed ones included: the `faas.invoke_duration`
    /// count when there is one (it records each invocation), else
    /// `faas.invocations` + `faas.errors` + `faas.timeouts` (the semantic
    /// conventions, and the OpenTelemetry Lambda layer, count only
    /// successful invocations in `faas.invocations`).
    fn invocation_count(&self) -> u64 {
        if self.durations.count > 0 {
            self.durations.count
        } else {
            whole(self.invocations + self.errors + self.timeouts)
        }
    }

    fn add(&mut self, metric_name: &str, unit: &str, increment: &Increment) {
        let unit_to_ms = if unit == "s" { 1000.0 } else { 1.0 };
        match metric_name {
            names::INVOCATIONS => self.invocations += increment.value,
            names::ERRORS => self.errors += increment.value,
            names::COLD_STARTS => self.cold_starts += increment.value,
            names::TIMEOUTS => self.timeouts += increment.value,
            names::INVOKE_DURATION => self.durations.add(increment, unit_to_ms),
            names::INIT_DURATION => self.init_durations.add(increment, unit_to_ms),
            _ => {}
        }
    }

    fn cost(&self, pricing: &Pricing, traits: &GroupTraits<'_>) -> FunctionCost {
        FunctionCost::from_histogram(
            pricing,
            traits,
            self.invocation_count(),
            self.durations.count,
            self.durations.sum_ms,
        )
    }

    fn duration_summary(&self) -> Option<DurationSummary> {
        let durations = &self.durations;
        (durations.count > 0).then(|| DurationSummary {
            avg: durations.sum_ms / durations.count as f64,
            p50: durations.quantile(0.5).unwrap_or(0.0),
            p95: durations.quantile(0.95).unwrap_or(0.0),
            p99: durations.quantile(0.99).unwrap_or(0.0),
            max: durations.quantile(1.0).unwrap_or(0.0),
        })
    }
}

/// One function's traits and its increments, each with metric name and unit.
#[derive(Debug, Default)]
struct Series {
    traits: Traits,
    increments: Vec<(String, String, Increment)>,
}

impl Series {
    fn counters(&self, keep: impl Fn(&Increment) -> bool) -> Counters {
        let mut counters = Counters::default();
        for (name, unit, increment) in self.increments.iter().filter(|(_, _, i)| keep(i)) {
            counters.add(name, unit, increment);
        }
        counters
    }
}

/// The increments of one time series (points of one metric and series hash, oldest first).
fn series_increments(points: &[FaasPointRow], window_start: u64) -> Vec<Increment> {
    let mut result = Vec::new();
    let mut previous: Option<(Increment, u64)> = None;
    for point in points {
        if point.metric_type != metric_type::SUM && point.metric_type != metric_type::HISTOGRAM {
            continue;
        }
        let current = Increment::whole(point);
        let increment = if point.temporality != temporality::CUMULATIVE {
            Some(current.clone())
        } else {
            match &previous {
                None => (point.start_time_unix_nano >= window_start).then(|| current.clone()),
                Some((before, start)) => {
                    Some(current.since(before, *start != point.start_time_unix_nano))
                }
            }
        };
        previous = Some((current, point.start_time_unix_nano));
        result.extend(increment);
    }
    result
}

/// Every function's series in the window.
fn by_function(points: Vec<FaasPointRow>, range: &TimeWindow) -> BTreeMap<String, Series> {
    let mut series: BTreeMap<(String, u64), Vec<FaasPointRow>> = BTreeMap::new();
    for point in points {
        series
            .entry((point.metric_name.clone(), point.series_hash))
            .or_default()
            .push(point);
    }
    let mut functions: BTreeMap<String, Series> = BTreeMap::new();
    for (_, mut points) in series {
        points.sort_by_key(|point| point.time_unix_nano);
        let increments = series_increments(&points, range.start_unix_nano);
        let Some(first) = points.first() else {
            continue;
        };
        let function = functions.entry(first.function.clone()).or_default();
        if !increments.is_empty() {
            function.traits.fill(first);
        }
        function
            .increments
            .extend(increments.into_iter().map(|increment| {
                (
                    first.metric_name.clone(),
                    first.metric_unit.clone(),
                    increment,
                )
            }));
    }
    functions
}

/// The facts of every function in `points` but those of `with_spans`, that
/// counted invocations in the window.
pub fn metrics_only_functions(
    points: Vec<FaasPointRow>,
    range: &TimeWindow,
    with_spans: &BTreeSet<String>,
    pricing: &Pricing,
) -> Vec<FunctionFacts> {
    let points = points
        .into_iter()
        .filter(|point| !with_spans.contains(&point.function))
        .collect();
    by_function(points, range)
        .into_iter()
        .filter_map(|(function, series)| {
            let counters = series.counters(|_| true);
            (counters.invocation_count() > 0)
                .then(|| facts(&function, &series.traits, &counters, pricing))
        })
        .collect()
}

fn facts(function: &str, traits: &Traits, counters: &Counters, pricing: &Pricing) -> FunctionFacts {
    FunctionFacts {
        identity: traits.identity(function),
        source: Source::Metrics,
        invocations: counters.invocation_count(),
        errors: whole(counters.errors),
        cold_starts: whole(counters.cold_starts),
        timeouts: Some(whole(counters.timeouts)),
        duration_ms: counters.duration_summary(),
        warm_p50_ms: None,
        cold_p50_ms: None,
        init_duration_ms: counters.init_durations.init_summary(),
        cost: counters.cost(pricing, &traits.group(function)),
    }
}

/// Init duration percentiles per function from `faas.init_duration`
/// histograms, for every function that sent them.
pub fn init_durations(
    points: &[FaasPointRow],
    range: &TimeWindow,
) -> BTreeMap<String, InitSummary> {
    let init_points: Vec<FaasPointRow> = points
        .iter()
        .filter(|point| point.metric_name == names::INIT_DURATION)
        .cloned()
        .collect();
    by_function(init_points, range)
        .into_iter()
        .filter_map(|(function, series)| {
            let summary = series.counters(|_| true).init_durations.init_summary()?;
            Some((function, summary))
        })
        .collect()
}

/// The facts of one function (`points` are its own) for the window, `None`
/// when it counted no invocations.
pub fn function_facts(
    function: &str,
    points: Vec<FaasPointRow>,
    range: &TimeWindow,
    pricing: &Pricing,
) -> Option<FunctionFacts> {
    let series = by_function(points, range).remove(function)?;
    let counters = series.counters(|_| true);
    (counters.invocation_count() > 0).then(|| facts(function, &series.traits, &counters, pricing))
}

/// The buckets of one function (`points` are its own) starting at
/// `starts`; `None` when it sent no points.
pub fn timeseries_buckets(
    function: &str,
    points: Vec<FaasPointRow>,
    range: &TimeWindow,
    step_seconds: u32,
    starts: &[u32],
    pricing: &Pricing,
) -> Option<Vec<(u32, BucketFacts)>> {
    let series = by_function(points, range).remove(function)?;
    let step = u64::from(step_seconds.max(1));
    let mut by_bucket: BTreeMap<u64, Counters> = BTreeMap::new();
    for (name, unit, increment) in &series.increments {
        let seconds = increment.time_unix_nano / 1_000_000_000;
        by_bucket
            .entry(seconds / step * step)
            .or_default()
            .add(name, unit, increment);
    }
    let traits = series.traits.group(function);
    let buckets = starts
        .iter()
        .map(|start| {
            let facts = match by_bucket.get(&u64::from(*start)) {
                None => BucketFacts::empty(),
                Some(counters) => BucketFacts {
                    invocations: counters.invocation_count(),
                    errors: whole(counters.errors),
                    cold_starts: whole(counters.cold_starts),
                    p50_ms: counters.durations.quantile(0.5).or(Some(0.0)),
                    p95_ms: counters.durations.quantile(0.95).or(Some(0.0)),
                    cost_usd: counters.cost(pricing, &traits).usd,
                },
            };
            (*start, facts)
        })
        .collect();
    Some(buckets)
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
            metric_type: metric_type::SUM,
            temporality,
            series_hash: 1,
            start_time_unix_nano: start,
            time_unix_nano: time,
            value,
            count: 0,
            sum: 0.0,
            bucket_counts: vec![],
            explicit_bounds: vec![],
            cloud_provider: String::new(),
            cloud_platform: "alibaba_cloud_fc".to_owned(),
            region: String::new(),
            max_memory: "134217728".to_owned(),
            host_arch: "arm64".to_owned(),
        }
    }

    const SECOND: u64 = 1_000_000_000;

    fn range() -> TimeWindow {
        TimeWindow {
            start_unix_nano: 100 * SECOND,
            end_unix_nano: 200 * SECOND,
        }
    }

    fn invocations_of(points: Vec<FaasPointRow>) -> u64 {
        let series = by_function(points, &range())
            .remove("f")
            .unwrap_or_default();
        series.counters(|_| true).invocation_count()
    }

    #[test]
    fn cumulative_series_count_differences_and_resets() {
        // Started before the window: the first point is the baseline.
        let points = vec![
            point(names::INVOCATIONS, 2, 50 * SECOND, 110 * SECOND, 10.0),
            point(names::INVOCATIONS, 2, 50 * SECOND, 120 * SECOND, 15.0),
            // Reset: a new start time, counts whole.
            point(names::INVOCATIONS, 2, 125 * SECOND, 130 * SECOND, 4.0),
        ];
        assert_eq!(invocations_of(points.clone()), 9);
        let traits = by_function(points, &range())
            .remove("f")
            .unwrap_or_default()
            .traits;
        assert_eq!(traits.memory_mb, 128);
        assert_eq!(traits.arch, "arm64");
        assert_eq!(
            traits.provider, "alibaba_cloud",
            "the platform prefix, as for spans"
        );
        // Delta points add up; functions with spans are skipped.
        let points = vec![
            point(names::INVOCATIONS, 1, 0, 110 * SECOND, 3.0),
            point(names::INVOCATIONS, 1, 0, 120 * SECOND, 4.0),
        ];
        assert_eq!(invocations_of(points.clone()), 7);
        let pricing = Pricing::shipped().expect("pricing");
        let with_spans: BTreeSet<String> = ["f".to_owned()].into_iter().collect();
        assert!(metrics_only_functions(points, &range(), &with_spans, &pricing).is_empty());
    }

    #[test]
    fn counts_without_a_duration_histogram_have_an_unknown_cost() {
        let pricing = Pricing::shipped().expect("pricing");
        let mut counted = point(names::INVOCATIONS, 1, 0, 110 * SECOND, 3.0);
        counted.cloud_provider = "aws".to_owned();
        let facts = metrics_only_functions(vec![counted], &range(), &BTreeSet::new(), &pricing);
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].invocations, 3);
        assert!(facts[0]
            .cost
            .usd
            .as_ref()
            .is_err_and(|why| why.contains("faas.invoke_duration")));
    }

    #[test]
    fn buckets_add_up_to_the_window() {
        let pricing = Pricing::shipped().expect("pricing");
        let points: Vec<FaasPointRow> = (0..5)
            .map(|minute| point(names::COLD_STARTS, 1, 0, (100 + minute * 20) * SECOND, 2.0))
            .collect();
        let starts = [60, 120, 180];
        let buckets =
            timeseries_buckets("f", points, &range(), 60, &starts, &pricing).expect("sent points");
        let cold: Vec<u64> = buckets.iter().map(|(_, facts)| facts.cold_starts).collect();
        // Points at 100, 120, 140, 160, 180 s.
        assert_eq!(cold, vec![2, 6, 2]);
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
