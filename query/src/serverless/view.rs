//! What the serverless read side answers, as the API serializes it. Each
//! type has one constructor, so every view derives rates, projections and
//! unknown costs the same way.

use super::cost::FunctionCost;
use crate::pricing::{Pricing, Provider, SECONDS_PER_MONTH};
use crate::time_window::TimeWindow;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a function's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Invocation records of entry spans.
    Spans,
    /// FaaS metrics of a function that sent no spans in the window.
    Metrics,
}

impl Source {
    /// As serialized: `spans` or `metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spans => "spans",
            Self::Metrics => "metrics",
        }
    }
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

/// What identifies and describes a function; `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionIdentity {
    pub function: String,
    pub service: String,
    pub provider: Option<String>,
    pub region: Option<String>,
    pub memory_mb: Option<u32>,
    pub arch: Option<String>,
}

/// Everything a source knows about a function in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionFacts {
    pub identity: FunctionIdentity,
    pub source: Source,
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub timeouts: Option<u64>,
    pub duration_ms: Option<DurationSummary>,
    pub warm_p50_ms: Option<f64>,
    pub cold_p50_ms: Option<f64>,
    pub init_duration_ms: Option<InitSummary>,
    pub cost: FunctionCost,
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
    pub source: Source,
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

/// `part / whole`, 0 when `whole` is 0.
fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Length of a window in seconds (at least one nanosecond), for rates.
pub fn window_seconds(window: &TimeWindow) -> f64 {
    window
        .end_unix_nano
        .saturating_sub(window.start_unix_nano)
        .max(1) as f64
        / 1e9
}

impl FunctionSummary {
    /// The summary of `facts` over `window`.
    pub fn new(facts: FunctionFacts, window: &TimeWindow) -> Self {
        let FunctionFacts {
            identity,
            cost,
            invocations,
            ..
        } = facts;
        let cost_usd = cost.usd.as_ref().ok().copied();
        Self {
            function: identity.function,
            service: identity.service,
            provider: identity.provider,
            region: identity.region,
            memory_mb: identity.memory_mb,
            arch: identity.arch,
            source: facts.source,
            invocations,
            errors: facts.errors,
            error_rate: rate(facts.errors, invocations),
            cold_starts: facts.cold_starts,
            cold_start_rate: rate(facts.cold_starts, invocations),
            timeouts: facts.timeouts,
            duration_ms: facts.duration_ms,
            warm_p50_ms: facts.warm_p50_ms,
            cold_p50_ms: facts.cold_p50_ms,
            cold_start_penalty_ms: facts
                .warm_p50_ms
                .zip(facts.cold_p50_ms)
                .map(|(warm, cold)| cold - warm),
            cold_start_penalty_usd: cost.cold_start_penalty_usd,
            init_duration_ms: facts.init_duration_ms,
            gb_seconds: cost.gb_seconds,
            cost_usd,
            cost_unknown_reason: cost.usd.err(),
            cost_per_million_invocations_usd: cost_usd
                .filter(|_| invocations > 0)
                .map(|usd| usd / invocations as f64 * 1e6),
            projected_monthly_cost_usd: cost_usd
                .map(|usd| usd / window_seconds(window) * SECONDS_PER_MONTH),
        }
    }
}

/// The answer of `GET /api/v1/functions`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionList {
    pub functions: Vec<FunctionSummary>,
    pub totals: FunctionTotals,
}

impl FunctionList {
    /// `functions` sorted by name, with their totals.
    pub fn new(mut functions: Vec<FunctionSummary>, pricing: &Pricing) -> Self {
        functions.sort_by(|a, b| a.function.cmp(&b.function));
        let totals = FunctionTotals::of(&functions, pricing);
        Self { functions, totals }
    }
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
        let cost_usd: f64 = functions.iter().filter_map(|f| f.cost_usd).sum();
        let projected: f64 = functions
            .iter()
            .filter_map(|f| f.projected_monthly_cost_usd)
            .sum();
        let after_free_tier = pricing
            .free_tier
            .then(|| after_free_tier(functions, pricing));
        Self {
            invocations: functions.iter().map(|function| function.invocations).sum(),
            cost_usd: all_known.then_some(cost_usd),
            projected_monthly_cost_usd: all_known.then_some(projected),
            projected_monthly_cost_after_free_tier_usd: after_free_tier.filter(|_| all_known),
        }
    }
}

/// Each provider's projected total minus its free allowance, summed.
fn after_free_tier(functions: &[FunctionSummary], pricing: &Pricing) -> f64 {
    let mut by_provider: BTreeMap<&str, f64> = BTreeMap::new();
    for function in functions {
        let provider = function.provider.as_deref().unwrap_or("");
        *by_provider.entry(provider).or_default() +=
            function.projected_monthly_cost_usd.unwrap_or(0.0);
    }
    by_provider
        .into_iter()
        .map(|(provider, total)| match Provider::parse(provider) {
            Some(known) => (total - pricing.monthly_free_tier_usd(known, "x86_64")).max(0.0),
            None => total,
        })
        .sum()
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

/// What a source knows about one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketFacts {
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub cost_usd: Result<f64, String>,
}

impl BucketFacts {
    /// A bucket without invocations: zeros, percentiles included.
    pub fn empty() -> Self {
        Self {
            invocations: 0,
            errors: 0,
            cold_starts: 0,
            p50_ms: Some(0.0),
            p95_ms: Some(0.0),
            cost_usd: Ok(0.0),
        }
    }
}

/// The answer of `GET /api/v1/functions/{function}/timeseries`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionTimeseries {
    pub function: String,
    pub step_seconds: u32,
    pub source: Source,
    /// Why bucket costs are null.
    pub cost_unknown_reason: Option<String>,
    pub buckets: Vec<TimeseriesBucket>,
}

impl FunctionTimeseries {
    /// The series of `buckets` (start in seconds, facts); when any bucket's
    /// cost is unknown, every bucket's is, with the first reason.
    pub fn new(
        function: &str,
        step_seconds: u32,
        source: Source,
        buckets: Vec<(u32, BucketFacts)>,
    ) -> Self {
        let cost_unknown_reason = buckets
            .iter()
            .find_map(|(_, facts)| facts.cost_usd.as_ref().err().cloned());
        let buckets = buckets
            .into_iter()
            .map(|(start, facts)| TimeseriesBucket {
                time: u64::from(start) * 1000,
                invocations: facts.invocations,
                errors: facts.errors,
                cold_starts: facts.cold_starts,
                p50_ms: facts.p50_ms,
                p95_ms: facts.p95_ms,
                cost_usd: facts
                    .cost_usd
                    .ok()
                    .filter(|_| cost_unknown_reason.is_none()),
            })
            .collect();
        Self {
            function: function.to_owned(),
            step_seconds,
            source,
            cost_unknown_reason,
            buckets,
        }
    }
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
    pub source: Source,
    /// Cold starts in the window, as `GET /api/v1/functions` counts them
    /// (for a metrics-only function from `faas.coldstarts`, none listed).
    pub count: u64,
    pub cold_starts: Vec<ColdStartView>,
    /// Whether more cold starts exist than listed.
    pub truncated: bool,
    pub histogram: Vec<HistogramBucket>,
}

/// Most cold starts listed by `GET /api/v1/coldstarts`.
pub const COLD_START_LIST_LIMIT: u64 = 1000;

impl ColdStarts {
    /// The cold starts of a function known from spans: `listed` holds at
    /// most one more than [`COLD_START_LIST_LIMIT`], to tell truncation.
    pub fn from_spans(
        function: &str,
        mut listed: Vec<ColdStartView>,
        histogram: Vec<HistogramBucket>,
    ) -> Self {
        let limit = usize::try_from(COLD_START_LIST_LIMIT).unwrap_or(usize::MAX);
        let truncated = listed.len() > limit;
        listed.truncate(limit);
        Self {
            function: function.to_owned(),
            source: Source::Spans,
            count: histogram.iter().map(|bucket| bucket.cold).sum(),
            cold_starts: listed,
            truncated,
            histogram,
        }
    }

    /// A function known only from FaaS metrics: a count, no invocations.
    pub fn from_metrics(function: &str, count: u64) -> Self {
        Self {
            function: function.to_owned(),
            source: Source::Metrics,
            count,
            cold_starts: Vec::new(),
            truncated: false,
            histogram: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priced(function: &str, provider: &str, cost: Option<f64>) -> FunctionSummary {
        let window = TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: (SECONDS_PER_MONTH / 100.0 * 1e9) as u64,
        };
        FunctionSummary::new(
            FunctionFacts {
                identity: FunctionIdentity {
                    function: function.to_owned(),
                    service: function.to_owned(),
                    provider: Some(provider.to_owned()),
                    ..Default::default()
                },
                source: Source::Spans,
                invocations: 10,
                errors: 0,
                cold_starts: 0,
                timeouts: None,
                duration_ms: None,
                warm_p50_ms: None,
                cold_p50_ms: None,
                init_duration_ms: None,
                cost: FunctionCost {
                    usd: cost.ok_or_else(|| "unknown".to_owned()),
                    gb_seconds: None,
                    cold_start_penalty_usd: None,
                },
            },
            &window,
        )
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
        assert!((after - (100.0 - aws_free)).abs() < 1e-6, "{after}");
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

    #[test]
    fn one_unknown_bucket_cost_makes_every_bucket_cost_unknown() {
        let unknown = BucketFacts {
            cost_usd: Err("memory size unknown".to_owned()),
            ..BucketFacts::empty()
        };
        let series = FunctionTimeseries::new(
            "f",
            60,
            Source::Spans,
            vec![(0, BucketFacts::empty()), (60, unknown)],
        );
        assert_eq!(
            series.cost_unknown_reason.as_deref(),
            Some("memory size unknown")
        );
        assert!(series
            .buckets
            .iter()
            .all(|bucket| bucket.cost_usd.is_none()));
        assert_eq!(series.buckets[1].time, 60_000);
    }
}
