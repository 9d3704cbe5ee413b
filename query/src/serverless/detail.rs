//! Reads the dashboard needs beyond the functions API: a function's
//! versions, its failed and slowest invocations, its REPORT memory figures,
//! headline totals over every function, cost per function over time, and
//! the projects of a window. All of them read the effective-invocations
//! fragment through an [`InvocationScope`] and price through `cost`, so their numbers are
//! the functions API's numbers.

use super::cost::{BillingGroupRow, CostTotals};
use super::from_spans::quantile;
use super::scope::InvocationScope;
use super::view::bucket_starts;
use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracehouse_model::ProjectId;

/// One version of a function (`faas.version`, else `service.version`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VersionStats {
    /// Empty when the telemetry names no version.
    pub version: String,
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub first_start_unix_nano: u64,
    pub last_start_unix_nano: u64,
    pub cost_per_million_invocations_usd: Option<f64>,
    /// Why the cost is unknown.
    pub cost_unknown_reason: Option<String>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct VersionRow {
    version: String,
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    duration_quantiles_ms: Vec<f64>,
    first_start_unix_nano: u64,
    last_start_unix_nano: u64,
}

/// Which invocations to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOrder {
    /// Failed invocations, newest first.
    RecentFailed,
    /// Every invocation, slowest first.
    Slowest,
}

/// One invocation of a list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InvocationView {
    pub trace_id: String,
    pub span_id: String,
    pub instance: String,
    pub start_time_unix_nano: u64,
    pub duration_ms: f64,
    pub is_error: bool,
    pub cold_start: bool,
    pub init_duration_ms: Option<f64>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct InvocationRow {
    trace_id: String,
    span_id: String,
    instance: String,
    start_time_unix_nano: u64,
    duration_ns: u64,
    is_error: u8,
    is_cold: u8,
    report_has_init: u8,
    report_init_ms: f64,
}

/// Memory figures from a function's Lambda REPORT lines.
#[derive(Debug, Clone, Serialize, PartialEq, clickhouse::Row, Deserialize)]
pub struct ReportMemory {
    pub reports: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
}

/// Every function of a project together over a window.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WindowTotals {
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct TotalsRow {
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    duration_quantiles_ms: Vec<f64>,
}

/// One function's cost per bucket; `None` where it cannot be priced.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionCostSeries {
    pub function: String,
    pub total_usd: Option<f64>,
    pub buckets: Vec<Option<f64>>,
    /// Invocations per bucket.
    pub invocations: Vec<u64>,
}

/// Cost per function over time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostByFunction {
    /// Bucket starts, Unix milliseconds.
    pub times_ms: Vec<u64>,
    pub functions: Vec<FunctionCostSeries>,
}

/// A row of `trace_cost_groups.sql`: a billing group of one trace.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct TraceGroupRow {
    trace_hex: String,
    function: String,
    bucket: u32,
    provider: String,
    region: String,
    arch: String,
    memory_mb: u32,
    is_cold: u8,
    invocations: u64,
    billed_ms_aws: u64,
    billed_ms_azure: u64,
    billed_ms_gcp: u64,
}

impl TraceGroupRow {
    /// The trace id and its billing group.
    fn split(self) -> (String, BillingGroupRow) {
        let group = BillingGroupRow {
            function: self.function,
            bucket: self.bucket,
            provider: self.provider,
            region: self.region,
            arch: self.arch,
            memory_mb: self.memory_mb,
            is_cold: self.is_cold,
            invocations: self.invocations,
            billed_ms_aws: self.billed_ms_aws,
            billed_ms_azure: self.billed_ms_azure,
            billed_ms_gcp: self.billed_ms_gcp,
        };
        (self.trace_hex, group)
    }
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct ProjectRow {
    project: String,
}

/// Most versions priced one by one.
const MAX_PRICED_VERSIONS: usize = 20;

impl QueryService {
    /// A function's versions in `range`, oldest first, each priced over the
    /// span of time it ran. When other versions ran in that span too (a
    /// gradual rollout), its cost is unknown rather than shared out.
    pub async fn function_versions(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
    ) -> Result<Vec<VersionStats>, QueryError> {
        let scope = InvocationScope::function(project, function, range);
        let rows: Vec<VersionRow> = self
            .fetch(
                &sql::FUNCTION_VERSIONS,
                &self.slot_params(&scope, None).await?,
            )
            .await?;
        let prices = rows
            .iter()
            .take(MAX_PRICED_VERSIONS)
            .map(|row| self.version_cost(project, function, row));
        let costs = futures::future::try_join_all(prices).await?;
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| {
                let cost = costs.get(index).cloned().unwrap_or_else(|| {
                    Err("too many versions in this time range to price each".to_owned())
                });
                VersionStats {
                    p50_ms: quantile(&row.duration_quantiles_ms, 0),
                    p95_ms: quantile(&row.duration_quantiles_ms, 1),
                    cost_per_million_invocations_usd: cost
                        .as_ref()
                        .ok()
                        .filter(|_| row.invocations > 0)
                        .map(|usd| usd / row.invocations as f64 * 1e6),
                    cost_unknown_reason: cost.err(),
                    version: row.version,
                    invocations: row.invocations,
                    errors: row.errors,
                    cold_starts: row.cold_starts,
                    first_start_unix_nano: row.first_start_unix_nano,
                    last_start_unix_nano: row.last_start_unix_nano,
                }
            })
            .collect())
    }

    /// The cost of one version's span of time, when it alone ran then.
    async fn version_cost(
        &self,
        project: &ProjectId,
        function: &str,
        row: &VersionRow,
    ) -> Result<Result<f64, String>, QueryError> {
        let span = TimeWindow {
            start_unix_nano: row.first_start_unix_nano,
            end_unix_nano: row.last_start_unix_nano.saturating_add(1),
        };
        let scope = InvocationScope::function(project, function, &span);
        let cost = self.invocation_totals(&scope).await?;
        if cost.invocations != row.invocations {
            return Ok(Err(
                "other versions ran at the same time, so the cost is not this version's alone"
                    .to_owned(),
            ));
        }
        Ok(cost.usd())
    }

    /// A function's failed invocations (newest first) or slowest ones, at most `limit`.
    pub async fn function_invocations(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
        order: InvocationOrder,
        limit: u64,
    ) -> Result<Vec<InvocationView>, QueryError> {
        let (failed_only, slowest) = match order {
            InvocationOrder::RecentFailed => (true, false),
            InvocationOrder::Slowest => (false, true),
        };
        let scope = InvocationScope::function(project, function, range);
        let params = self
            .scope_params(&scope)
            .await?
            .set("failed_only", failed_only)
            .set("slowest", slowest)
            .set("limit", limit);
        let rows: Vec<InvocationRow> = self.fetch(&sql::FUNCTION_INVOCATIONS, &params).await?;
        Ok(rows
            .into_iter()
            .map(|row| InvocationView {
                trace_id: row.trace_id.to_ascii_lowercase(),
                span_id: row.span_id.to_ascii_lowercase(),
                instance: row.instance,
                start_time_unix_nano: row.start_time_unix_nano,
                duration_ms: row.duration_ns as f64 / 1e6,
                is_error: row.is_error == 1,
                cold_start: row.is_cold == 1,
                init_duration_ms: (row.report_has_init == 1).then_some(row.report_init_ms),
            })
            .collect())
    }

    /// Memory figures of a function's REPORT lines in `range`; `None` without any.
    pub async fn function_report_memory(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
    ) -> Result<Option<ReportMemory>, QueryError> {
        let params = Params::new()
            .set("project", project.as_str())
            .set("function", function)
            .set("from_s", range.start_seconds())
            .set("to_s", range.end_seconds());
        let rows: Vec<ReportMemory> = self.fetch(&sql::FUNCTION_REPORT_MEMORY, &params).await?;
        let memory = rows.into_iter().next();
        Ok(memory.filter(|memory| memory.reports > 0))
    }

    /// Every function of `project` together over `range`.
    pub async fn window_totals(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
    ) -> Result<WindowTotals, QueryError> {
        let scope = InvocationScope::window(project, range);
        let rows: Vec<TotalsRow> = self
            .fetch(
                &sql::FUNCTION_WINDOW_TOTALS,
                &self.slot_params(&scope, None).await?,
            )
            .await?;
        let row = rows.into_iter().next();
        Ok(row.map_or_else(WindowTotals::default, |row| WindowTotals {
            invocations: row.invocations,
            errors: row.errors,
            cold_starts: row.cold_starts,
            p50_ms: quantile(&row.duration_quantiles_ms, 0).filter(|_| row.invocations > 0),
            p95_ms: quantile(&row.duration_quantiles_ms, 1).filter(|_| row.invocations > 0),
        }))
    }

    /// Cost per function per bucket of `step_seconds`, most expensive first.
    pub async fn cost_by_function(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
        step_seconds: u32,
    ) -> Result<CostByFunction, QueryError> {
        let groups = self
            .billing_groups(&InvocationScope::window(project, range), step_seconds)
            .await?;
        Ok(self.cost_by_function_of(range, step_seconds, &groups))
    }

    /// Cost per function per bucket of `step_seconds` of `groups` (the
    /// window's billing groups at that step), most expensive first.
    pub fn cost_by_function_of(
        &self,
        range: &TimeWindow,
        step_seconds: u32,
        groups: &[BillingGroupRow],
    ) -> CostByFunction {
        let starts = bucket_starts(range, step_seconds);
        let mut costs: BTreeMap<&str, BTreeMap<u32, CostTotals>> = BTreeMap::new();
        let mut invocation_counts: BTreeMap<&str, BTreeMap<u32, u64>> = BTreeMap::new();
        for group in groups {
            *invocation_counts
                .entry(group.function.as_str())
                .or_default()
                .entry(group.bucket)
                .or_default() += group.invocations;
            costs
                .entry(group.function.as_str())
                .or_default()
                .entry(group.bucket)
                .or_default()
                .add(self.pricing(), group);
        }
        let mut functions: Vec<FunctionCostSeries> = costs
            .into_iter()
            .map(|(function, buckets)| {
                let known = buckets.values().all(|cost| cost.usd().is_ok());
                let counts = invocation_counts.get(function);
                FunctionCostSeries {
                    invocations: starts
                        .iter()
                        .map(|start| {
                            counts
                                .and_then(|counts| counts.get(start))
                                .copied()
                                .unwrap_or(0)
                        })
                        .collect(),
                    function: function.to_owned(),
                    total_usd: known
                        .then(|| buckets.values().filter_map(|cost| cost.usd().ok()).sum()),
                    buckets: starts
                        .iter()
                        .map(|start| match buckets.get(start) {
                            Some(cost) => cost.usd().ok(),
                            None => known.then_some(0.0),
                        })
                        .collect(),
                }
            })
            .collect();
        functions.sort_by(|a, b| {
            b.total_usd
                .unwrap_or(-1.0)
                .total_cmp(&a.total_usd.unwrap_or(-1.0))
                .then_with(|| a.function.cmp(&b.function))
        });
        CostByFunction {
            times_ms: starts
                .iter()
                .map(|start| u64::from(*start) * 1000)
                .collect(),
            functions,
        }
    }

    /// Invocations, cold starts and cost of each of `trace_ids` (hex) whose
    /// invocations start in `range`; traces without invocations are absent.
    pub async fn trace_costs(
        &self,
        project: &ProjectId,
        trace_ids: Vec<String>,
        range: &TimeWindow,
    ) -> Result<BTreeMap<String, CostTotals>, QueryError> {
        if trace_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let scope = InvocationScope::traces(project, Vec::new(), trace_ids, range);
        let rows: Vec<TraceGroupRow> = self
            .fetch(&sql::TRACE_COST_GROUPS, &self.scope_params(&scope).await?)
            .await?;
        let mut totals: BTreeMap<String, CostTotals> = BTreeMap::new();
        for row in rows {
            let (trace, group) = row.split();
            totals.entry(trace).or_default().add(self.pricing(), &group);
        }
        Ok(totals)
    }

    /// Projects with invocations in `range`.
    pub async fn projects(&self, range: &TimeWindow) -> Result<Vec<String>, QueryError> {
        let params = Params::new()
            .set("from_s", range.start_seconds())
            .set("to_s", range.end_seconds());
        let rows: Vec<ProjectRow> = self.fetch(&sql::PROJECTS, &params).await?;
        Ok(rows.into_iter().map(|row| row.project).collect())
    }
}
