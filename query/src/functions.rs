//! Functions: invocations, errors, latency, cold starts and cost per
//! function over a time window, a function's time series, and its cold
//! starts. See `docs/serverless.md` for how each number is derived.

use crate::error::QueryError;
use crate::faas_metrics;
use crate::pricing::{BillingUnits, GroupTraits, Pricing, Provider, SECONDS_PER_MONTH};
use crate::sql;
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_model::ProjectId;

/// Length of a window in seconds (at least one nanosecond), for rates.
pub fn window_seconds(window: &TimeWindow) -> f64 {
    window
        .end_unix_nano
        .saturating_sub(window.start_unix_nano)
        .max(1) as f64
        / 1e9
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DurationSummary {
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Init duration percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InitSummary {
    pub p50: f64,
    pub p95: f64,
}

/// One function in `GET /api/v1/functions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionSummary {
    pub function: String,
    pub service: String,
    pub provider: Option<String>,
    pub region: Option<String>,
    pub memory_mb: Option<u32>,
    pub arch: Option<String>,
    /// `spans` or `metrics` (FaaS metrics of a function that sent no spans).
    pub source: &'static str,
    pub invocations: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub cold_starts: u64,
    pub cold_start_rate: f64,
    /// From `faas.timeouts`, for functions known from metrics; null from spans.
    pub timeouts: Option<u64>,
    pub duration_ms: Option<DurationSummary>,
    pub warm_p50_ms: Option<f64>,
    pub cold_p50_ms: Option<f64>,
    pub cold_start_penalty_ms: Option<f64>,
    /// Cost of the cold invocations minus what as many warm ones cost on average.
    pub cold_start_penalty_usd: Option<f64>,
    pub init_duration_ms: Option<InitSummary>,
    pub gb_seconds: Option<f64>,
    pub cost_usd: Option<f64>,
    /// Why `cost_usd` is null.
    pub cost_unknown_reason: Option<String>,
    pub cost_per_million_invocations_usd: Option<f64>,
    pub projected_monthly_cost_usd: Option<f64>,
}

/// The answer of `GET /api/v1/functions`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionList {
    pub functions: Vec<FunctionSummary>,
    pub totals: FunctionTotals,
}

/// Sums over every function of the list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionTotals {
    pub invocations: u64,
    /// Null when any function's cost is unknown.
    pub cost_usd: Option<f64>,
    pub projected_monthly_cost_usd: Option<f64>,
    /// With `pricing.free_tier` on: each provider's projected total minus
    /// its monthly free allowance, never below zero. Null when off.
    pub projected_monthly_cost_after_free_tier_usd: Option<f64>,
}

impl FunctionTotals {
    /// The totals of `functions` under `pricing`.
    pub fn of(functions: &[FunctionSummary], pricing: &Pricing) -> Self {
        let all_known = functions.iter().all(|function| function.cost_usd.is_some());
        let cost_usd: f64 = functions
            .iter()
            .filter_map(|function| function.cost_usd)
            .sum();
        let projected: f64 = functions
            .iter()
            .filter_map(|function| function.projected_monthly_cost_usd)
            .sum();
        let after_free_tier = pricing.free_tier.then(|| {
            let mut by_provider: BTreeMap<&str, f64> = BTreeMap::new();
            for function in functions {
                let provider = function.provider.as_deref().unwrap_or("");
                *by_provider.entry(provider).or_default() +=
                    function.projected_monthly_cost_usd.unwrap_or(0.0);
            }
            by_provider
                .into_iter()
                .map(|(provider, total)| match Provider::parse(provider) {
                    Some(known) => {
                        (total - pricing.monthly_free_tier_usd(known, "x86_64")).max(0.0)
                    }
                    None => total,
                })
                .sum()
        });
        Self {
            invocations: functions.iter().map(|function| function.invocations).sum(),
            cost_usd: all_known.then_some(cost_usd),
            projected_monthly_cost_usd: all_known.then_some(projected),
            projected_monthly_cost_after_free_tier_usd: after_free_tier.filter(|_| all_known),
        }
    }
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct FunctionStatsRow {
    function: String,
    service: String,
    provider: String,
    region: String,
    memory_mb: u32,
    arch: String,
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    avg_ms: f64,
    max_ms: f64,
    duration_quantiles_ms: Vec<f64>,
    warm_quantiles_ms: Vec<f64>,
    cold_quantiles_ms: Vec<f64>,
    init_count: u64,
    init_quantiles_ms: Vec<f64>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub(crate) struct CostGroupRow {
    pub(crate) function: String,
    pub(crate) bucket: u32,
    provider: String,
    region: String,
    arch: String,
    memory_mb: u32,
    is_cold: u8,
    pub(crate) invocations: u64,
    billed_ms_aws: u64,
    billed_ms_azure: u64,
    billed_ms_gcp: u64,
}

/// Cost of a set of cost groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CostTotals {
    pub(crate) usd: f64,
    gb_seconds: f64,
    cold_usd: f64,
    pub(crate) cold_invocations: u64,
    warm_usd: f64,
    pub(crate) warm_invocations: u64,
    pub(crate) unknown_reason: Option<String>,
}

impl CostTotals {
    pub(crate) fn add(&mut self, pricing: &Pricing, group: &CostGroupRow) {
        let traits = GroupTraits {
            function: &group.function,
            provider: &group.provider,
            region: &group.region,
            arch: &group.arch,
            memory_mb: group.memory_mb,
        };
        let units = BillingUnits {
            invocations: group.invocations,
            billed_ms_aws: group.billed_ms_aws,
            billed_ms_azure: group.billed_ms_azure,
            billed_ms_gcp: group.billed_ms_gcp,
        };
        match pricing.price(&traits, &units) {
            Ok(cost) => {
                self.usd += cost.usd;
                self.gb_seconds += cost.gb_seconds;
                if group.is_cold == 1 {
                    self.cold_usd += cost.usd;
                    self.cold_invocations += group.invocations;
                } else {
                    self.warm_usd += cost.usd;
                    self.warm_invocations += group.invocations;
                }
            }
            Err(reason) => {
                self.unknown_reason.get_or_insert(reason);
            }
        }
    }

    /// The cost, or `None` when any invocation could not be priced.
    pub(crate) fn known_usd(&self) -> Option<f64> {
        self.unknown_reason.is_none().then_some(self.usd)
    }

    fn cold_start_penalty_usd(&self) -> Option<f64> {
        if self.unknown_reason.is_some() || self.cold_invocations == 0 || self.warm_invocations == 0
        {
            return None;
        }
        let warm_average = self.warm_usd / self.warm_invocations as f64;
        Some(self.cold_usd - warm_average * self.cold_invocations as f64)
    }
}

/// Rows of the enriched-invocations templates take these parameters first.
pub(crate) fn bind_window(
    query: clickhouse::query::Query,
    project: &ProjectId,
    function: &str,
    range: &TimeWindow,
) -> clickhouse::query::Query {
    let bind_invocations = |query: clickhouse::query::Query| {
        query
            .bind(project.as_str())
            .bind(function)
            .bind(function)
            .bind(range.start_seconds())
            .bind(range.end_seconds())
            .bind(range.start_unix_nano)
            .bind(range.end_unix_nano)
    };
    // The invocations of the window; the stored first starts of their
    // instances (restricted to the instances of the window) and the
    // window's invocations as first-start candidates; then the REPORT
    // lines of the window's request ids.
    let query = bind_invocations(query);
    let query = query.bind(project.as_str()).bind(function).bind(function);
    let query = bind_invocations(query);
    let query = bind_invocations(query);
    bind_invocations(query.bind(project.as_str()))
}

pub(crate) fn quantile(values: &[f64], index: usize) -> Option<f64> {
    values.get(index).copied().filter(|value| value.is_finite())
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Step of the cost groups read for the function list (any step gives the
/// same sums; a day keeps the row count small).
const LIST_COST_STEP_SECONDS: u32 = 86_400;

impl QueryService {
    pub(crate) async fn cost_groups(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
        step_seconds: u32,
    ) -> Result<Vec<CostGroupRow>, QueryError> {
        let query = self
            .client()
            .query(&sql::FUNCTION_COST_GROUPS)
            .bind(step_seconds)
            .bind(step_seconds);
        Ok(bind_window(query, project, function, range)
            .fetch_all()
            .await?)
    }

    /// Every function with invocations in `range`: from spans, and from
    /// FaaS metrics for functions that sent no spans in the range.
    pub async fn functions(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
    ) -> Result<FunctionList, QueryError> {
        let stats: Vec<FunctionStatsRow> = bind_window(
            self.client().query(&sql::FUNCTION_STATS),
            project,
            "",
            range,
        )
        .fetch_all()
        .await?;
        let groups = self
            .cost_groups(project, "", range, LIST_COST_STEP_SECONDS)
            .await?;
        let mut costs: BTreeMap<&str, CostTotals> = BTreeMap::new();
        for group in &groups {
            costs
                .entry(group.function.as_str())
                .or_default()
                .add(self.pricing(), group);
        }
        let points = self.faas_points(project, range).await?;
        // Init durations from REPORT lines first, else from faas.init_duration.
        let metric_init_durations = faas_metrics::init_durations(&points, range);
        let mut functions: Vec<FunctionSummary> = stats
            .iter()
            .map(|row| {
                let cost = costs
                    .get(row.function.as_str())
                    .cloned()
                    .unwrap_or_default();
                let mut summary = self.summary_from_spans(row, &cost, range);
                if summary.init_duration_ms.is_none() {
                    summary.init_duration_ms = metric_init_durations.get(&row.function).cloned();
                }
                summary
            })
            .collect();
        let with_spans: BTreeSet<String> = stats.into_iter().map(|row| row.function).collect();
        let metrics_only = faas_metrics::aggregate(points, range, None, &with_spans);
        functions.extend(
            metrics_only
                .into_iter()
                .map(|function| faas_metrics::summary(function, self.pricing(), range)),
        );
        functions.sort_by(|a, b| a.function.cmp(&b.function));
        let totals = FunctionTotals::of(&functions, self.pricing());
        Ok(FunctionList { functions, totals })
    }

    /// The FaaS metric points of the window, oldest first.
    async fn faas_points(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
    ) -> Result<Vec<faas_metrics::FaasPointRow>, QueryError> {
        Ok(self
            .client()
            .query(sql::FAAS_METRIC_POINTS)
            .bind(project.as_str())
            .bind(range.start_seconds())
            .bind(range.end_seconds())
            .bind(range.start_unix_nano)
            .bind(range.end_unix_nano)
            .fetch_all()
            .await?)
    }

    fn summary_from_spans(
        &self,
        row: &FunctionStatsRow,
        cost: &CostTotals,
        range: &TimeWindow,
    ) -> FunctionSummary {
        let warm_count = row.invocations.saturating_sub(row.cold_starts);
        let warm_p50_ms = (warm_count > 0)
            .then(|| quantile(&row.warm_quantiles_ms, 0))
            .flatten();
        let cold_p50_ms = (row.cold_starts > 0)
            .then(|| quantile(&row.cold_quantiles_ms, 0))
            .flatten();
        let known = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let cost_usd = cost.known_usd();
        FunctionSummary {
            function: row.function.clone(),
            service: row.service.clone(),
            provider: known(&row.provider).or_else(|| {
                self.pricing()
                    .functions
                    .get(&row.function)?
                    .provider
                    .clone()
            }),
            region: known(&row.region),
            memory_mb: (row.memory_mb > 0)
                .then_some(row.memory_mb)
                .or_else(|| self.pricing().functions.get(&row.function)?.memory_mb),
            arch: known(&row.arch)
                .or_else(|| self.pricing().functions.get(&row.function)?.arch.clone()),
            source: "spans",
            invocations: row.invocations,
            errors: row.errors,
            error_rate: rate(row.errors, row.invocations),
            cold_starts: row.cold_starts,
            cold_start_rate: rate(row.cold_starts, row.invocations),
            timeouts: None,
            duration_ms: Some(DurationSummary {
                avg: row.avg_ms,
                p50: quantile(&row.duration_quantiles_ms, 0).unwrap_or(0.0),
                p95: quantile(&row.duration_quantiles_ms, 1).unwrap_or(0.0),
                p99: quantile(&row.duration_quantiles_ms, 2).unwrap_or(0.0),
                max: row.max_ms,
            }),
            warm_p50_ms,
            cold_p50_ms,
            cold_start_penalty_ms: warm_p50_ms.zip(cold_p50_ms).map(|(warm, cold)| cold - warm),
            cold_start_penalty_usd: cost.cold_start_penalty_usd(),
            init_duration_ms: (row.init_count > 0).then(|| InitSummary {
                p50: quantile(&row.init_quantiles_ms, 0).unwrap_or(0.0),
                p95: quantile(&row.init_quantiles_ms, 1).unwrap_or(0.0),
            }),
            gb_seconds: cost.unknown_reason.is_none().then_some(cost.gb_seconds),
            cost_usd,
            cost_unknown_reason: cost.unknown_reason.clone(),
            cost_per_million_invocations_usd: cost_usd
                .filter(|_| row.invocations > 0)
                .map(|usd| usd / row.invocations as f64 * 1e6),
            projected_monthly_cost_usd: cost_usd
                .map(|usd| usd / window_seconds(range) * SECONDS_PER_MONTH),
        }
    }
}

/// One bucket of a function's time series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimeseriesBucket {
    /// Bucket start, Unix milliseconds.
    pub time: u64,
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub cost_usd: Option<f64>,
}

/// The answer of `GET /api/v1/functions/{function}/timeseries`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionTimeseries {
    pub function: String,
    pub step_seconds: u32,
    pub source: &'static str,
    /// Why bucket costs are null.
    pub cost_unknown_reason: Option<String>,
    pub buckets: Vec<TimeseriesBucket>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct TimeseriesRow {
    bucket: u32,
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    duration_quantiles_ms: Vec<f64>,
}

/// Bucket starts (seconds) covering `range`, aligned to multiples of
/// `step` since the epoch.
pub fn bucket_starts(range: &TimeWindow, step_seconds: u32) -> Vec<u32> {
    let step = u64::from(step_seconds.max(1));
    let first = range.start_unix_nano / 1_000_000_000 / step * step;
    let mut starts = Vec::new();
    let mut bucket = first;
    while bucket.saturating_mul(1_000_000_000) < range.end_unix_nano {
        starts.push(u32::try_from(bucket).unwrap_or(u32::MAX));
        bucket += step;
    }
    starts
}

impl QueryService {
    /// Whether a function has invocations (from spans or FaaS metrics) in `range`.
    async fn function_exists(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
    ) -> Result<bool, QueryError> {
        let list = self.functions(project, range).await?;
        Ok(list
            .functions
            .iter()
            .any(|summary| summary.function == function))
    }

    /// A function's counts, percentiles and cost per bucket of
    /// `step_seconds`; empty buckets are zeros. 404 for an unknown function.
    pub async fn function_timeseries(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
        step_seconds: u32,
    ) -> Result<FunctionTimeseries, QueryError> {
        let starts = bucket_starts(range, step_seconds);
        let rows: Vec<TimeseriesRow> = bind_window(
            self.client()
                .query(&sql::FUNCTION_TIMESERIES)
                .bind(step_seconds)
                .bind(step_seconds),
            project,
            function,
            range,
        )
        .fetch_all()
        .await?;
        if rows.is_empty() {
            return self
                .metrics_timeseries(project, function, range, step_seconds, &starts)
                .await;
        }
        let groups = self
            .cost_groups(project, function, range, step_seconds)
            .await?;
        let mut costs: BTreeMap<u32, CostTotals> = BTreeMap::new();
        for group in &groups {
            costs
                .entry(group.bucket)
                .or_default()
                .add(self.pricing(), group);
        }
        let cost_unknown_reason = costs.values().find_map(|cost| cost.unknown_reason.clone());
        let by_bucket: BTreeMap<u32, &TimeseriesRow> =
            rows.iter().map(|row| (row.bucket, row)).collect();
        let buckets = starts
            .iter()
            .map(|start| {
                let cost = costs.get(start).cloned().unwrap_or_default();
                let cost_usd = if cost_unknown_reason.is_some() {
                    None
                } else {
                    Some(cost.usd)
                };
                match by_bucket.get(start) {
                    Some(row) => TimeseriesBucket {
                        time: u64::from(*start) * 1000,
                        invocations: row.invocations,
                        errors: row.errors,
                        cold_starts: row.cold_starts,
                        p50_ms: quantile(&row.duration_quantiles_ms, 0),
                        p95_ms: quantile(&row.duration_quantiles_ms, 1),
                        cost_usd,
                    },
                    None => TimeseriesBucket {
                        time: u64::from(*start) * 1000,
                        invocations: 0,
                        errors: 0,
                        cold_starts: 0,
                        p50_ms: Some(0.0),
                        p95_ms: Some(0.0),
                        cost_usd,
                    },
                }
            })
            .collect();
        Ok(FunctionTimeseries {
            function: function.to_owned(),
            step_seconds,
            source: "spans",
            cost_unknown_reason,
            buckets,
        })
    }

    async fn metrics_timeseries(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
        step_seconds: u32,
        starts: &[u32],
    ) -> Result<FunctionTimeseries, QueryError> {
        let points: Vec<_> = self
            .faas_points(project, range)
            .await?
            .into_iter()
            .filter(|point| point.function == function)
            .collect();
        if points.is_empty() {
            return Err(QueryError::NotFound(format!("function {function:?}")));
        }
        let buckets = faas_metrics::timeseries(points, self.pricing(), range, step_seconds, starts);
        Ok(FunctionTimeseries {
            function: function.to_owned(),
            step_seconds,
            source: "metrics",
            cost_unknown_reason: buckets.1,
            buckets: buckets.0,
        })
    }
}

/// One cold-start invocation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColdStartView {
    pub trace_id: String,
    pub span_id: String,
    pub instance: String,
    pub start_time_unix_nano: u64,
    pub duration_ms: f64,
    /// From the Lambda REPORT line, when one arrived.
    pub init_duration_ms: Option<f64>,
}

/// One bucket of the cold vs warm duration histogram.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistogramBucket {
    /// Upper bound of the bucket in ms (powers of two; the lower bound is half).
    pub le_ms: f64,
    pub cold: u64,
    pub warm: u64,
}

/// The answer of `GET /api/v1/coldstarts`.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStarts {
    pub function: String,
    pub cold_starts: Vec<ColdStartView>,
    /// Whether more cold starts exist than listed.
    pub truncated: bool,
    pub histogram: Vec<HistogramBucket>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct ColdStartRow {
    trace_id: String,
    span_id: String,
    instance: String,
    start_time_unix_nano: u64,
    duration_ns: u64,
    report_has_init: u8,
    report_init_ms: f64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct HistogramRow {
    le_ms: f64,
    cold_count: u64,
    warm_count: u64,
}

/// Most cold starts listed by `GET /api/v1/coldstarts`.
pub const COLD_START_LIST_LIMIT: u64 = 1000;

impl QueryService {
    /// The cold starts of a function in `range`, newest first, and its
    /// duration histogram cold vs warm. 404 for a function without
    /// invocations from spans in the range.
    pub async fn cold_starts(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
    ) -> Result<ColdStarts, QueryError> {
        let histogram: Vec<HistogramRow> = bind_window(
            self.client().query(&sql::DURATION_HISTOGRAM),
            project,
            function,
            range,
        )
        .fetch_all()
        .await?;
        if histogram.is_empty() {
            if self.function_exists(project, function, range).await? {
                return Ok(ColdStarts {
                    function: function.to_owned(),
                    cold_starts: vec![],
                    truncated: false,
                    histogram: vec![],
                });
            }
            return Err(QueryError::NotFound(format!("function {function:?}")));
        }
        let rows: Vec<ColdStartRow> = bind_window(
            self.client().query(&sql::COLDSTART_INVOCATIONS),
            project,
            function,
            range,
        )
        .bind(COLD_START_LIST_LIMIT + 1)
        .fetch_all()
        .await?;
        let truncated = rows.len() as u64 > COLD_START_LIST_LIMIT;
        Ok(ColdStarts {
            function: function.to_owned(),
            truncated,
            cold_starts: rows
                .into_iter()
                .take(usize::try_from(COLD_START_LIST_LIMIT).unwrap_or(usize::MAX))
                .map(|row| ColdStartView {
                    trace_id: row.trace_id.to_ascii_lowercase(),
                    span_id: row.span_id.to_ascii_lowercase(),
                    instance: row.instance,
                    start_time_unix_nano: row.start_time_unix_nano,
                    duration_ms: row.duration_ns as f64 / 1e6,
                    init_duration_ms: (row.report_has_init == 1).then_some(row.report_init_ms),
                })
                .collect(),
            histogram: histogram
                .into_iter()
                .map(|row| HistogramBucket {
                    le_ms: row.le_ms,
                    cold: row.cold_count,
                    warm: row.warm_count,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priced(function: &str, provider: &str, cost: Option<f64>) -> FunctionSummary {
        FunctionSummary {
            function: function.to_owned(),
            service: function.to_owned(),
            provider: Some(provider.to_owned()),
            region: None,
            memory_mb: None,
            arch: None,
            source: "spans",
            invocations: 10,
            errors: 0,
            error_rate: 0.0,
            cold_starts: 0,
            cold_start_rate: 0.0,
            timeouts: None,
            duration_ms: None,
            warm_p50_ms: None,
            cold_p50_ms: None,
            cold_start_penalty_ms: None,
            cold_start_penalty_usd: None,
            init_duration_ms: None,
            gb_seconds: None,
            cost_usd: cost,
            cost_unknown_reason: None,
            cost_per_million_invocations_usd: None,
            projected_monthly_cost_usd: cost.map(|usd| usd * 100.0),
        }
    }

    #[test]
    fn totals_subtract_the_free_tier_per_provider() {
        let mut pricing = Pricing::shipped().expect("pricing");
        let functions = vec![
            priced("a", "aws", Some(0.5)),
            priced("b", "aws", Some(0.5)),
            priced("c", "gcp", Some(0.001)),
        ];
        let totals = FunctionTotals::of(&functions, &pricing);
        assert_eq!(totals.invocations, 30);
        assert_eq!(totals.cost_usd, Some(1.001));
        assert_eq!(totals.projected_monthly_cost_after_free_tier_usd, None);
        pricing.free_tier = true;
        let totals = FunctionTotals::of(&functions, &pricing);
        // AWS: 100 USD projected minus 0.20 + 400000 GB-s at the x86 rate; GCP below its allowance.
        let aws_free = 0.20 + 400_000.0 * 0.0000166667;
        let after = totals
            .projected_monthly_cost_after_free_tier_usd
            .expect("on");
        assert!((after - (100.0 - aws_free)).abs() < 1e-9, "{after}");
        let unknown = vec![priced("a", "aws", None)];
        assert_eq!(FunctionTotals::of(&unknown, &pricing).cost_usd, None);
    }

    #[test]
    fn buckets_cover_the_range_aligned_to_the_step() {
        let range = TimeWindow {
            start_unix_nano: 90_500_000_000,
            end_unix_nano: 240_000_000_000,
        };
        assert_eq!(bucket_starts(&range, 60), vec![60, 120, 180]);
        assert_eq!(range.start_seconds(), 90);
        assert_eq!(range.end_seconds(), 240);
    }
}
