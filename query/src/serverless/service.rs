//! The serverless reads of [`QueryService`]: each template over
//! `{effective_invocations}` is read here with an [`InvocationScope`], and
//! its rows become views through `from_spans`, `from_metrics` and `cost`.
//! New reads of functions belong here too.

use super::agree::agreeing;
use super::cost::{BillingGroupRow, CostTotals};
use super::from_metrics::{self, FaasPointRow};
use super::from_spans::{ColdStartRow, FunctionStatsRow, HistogramRow, TimeseriesRow};
use super::scope::InvocationScope;
use super::view::{
    bucket_starts, BucketFacts, ColdStartView, ColdStarts, FunctionList, FunctionSummary,
    FunctionTimeseries, HistogramBucket, Source, COLD_START_LIST_LIMIT,
};
use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::time_window::TimeWindow;
use crate::QueryService;
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_model::ProjectId;

/// Step of the cost groups read when buckets do not matter (any step gives
/// the same sums; a day keeps the row count small).
const WHOLE_WINDOW_STEP_SECONDS: u32 = 86_400;

/// Statistics and FaaS metric points of the functions of a scope.
pub struct FunctionRows {
    stats: Vec<FunctionStatsRow>,
    points: Vec<FaasPointRow>,
}

impl FunctionRows {
    /// The invocations counted from spans (FaaS metric points aside).
    pub fn span_invocations(&self) -> u64 {
        self.stats.iter().map(|row| row.invocations).sum()
    }
}

/// Billing groups summed per day: exactly the groups a read at a step of a
/// day gives, when each group's step divides a day (every chart step does),
/// so prices add up in the same groups whatever step was read.
pub fn groups_by_day(groups: &[BillingGroupRow]) -> Vec<BillingGroupRow> {
    type Key<'a> = (&'a str, u32, &'a str, &'a str, &'a str, u32, u8);
    let mut days: BTreeMap<Key<'_>, BillingGroupRow> = BTreeMap::new();
    for group in groups {
        let day = group.bucket - group.bucket % WHOLE_WINDOW_STEP_SECONDS;
        let key = (
            group.function.as_str(),
            day,
            group.provider.as_str(),
            group.region.as_str(),
            group.arch.as_str(),
            group.memory_mb,
            group.is_cold,
        );
        let sum = days.entry(key).or_insert_with(|| BillingGroupRow {
            bucket: day,
            invocations: 0,
            billed_ms_aws: 0,
            billed_ms_azure: 0,
            billed_ms_gcp: 0,
            ..group.clone()
        });
        sum.invocations += group.invocations;
        sum.billed_ms_aws += group.billed_ms_aws;
        sum.billed_ms_azure += group.billed_ms_azure;
        sum.billed_ms_gcp += group.billed_ms_gcp;
    }
    days.into_values().collect()
}

impl QueryService {
    /// The binds of a read of `scope`: settled invocations before the split
    /// of its project's mark, live ones from there (see `super::settle`).
    pub async fn scope_params(&self, scope: &InvocationScope) -> Result<Params, QueryError> {
        let mark = super::settle::read_mark(self.client(), &scope.project).await?;
        Ok(scope.params_split(mark.split_unix_nano()))
    }

    /// The binds of a read of `scope` over `{effective_slots}` in buckets
    /// of `step_seconds` (`None`: no buckets), split as [`Self::scope_params`].
    pub async fn slot_params(
        &self,
        scope: &InvocationScope,
        step_seconds: Option<u32>,
    ) -> Result<Params, QueryError> {
        let mark = super::settle::read_mark(self.client(), &scope.project).await?;
        Ok(scope.slot_params_split(mark.split_unix_nano(), step_seconds))
    }

    /// Billing groups of `scope` per bucket of `step_seconds`.
    pub async fn billing_groups(
        &self,
        scope: &InvocationScope,
        step_seconds: u32,
    ) -> Result<Vec<BillingGroupRow>, QueryError> {
        let params = self
            .slot_params(scope, Some(step_seconds))
            .await?
            .set("step", step_seconds);
        let query = sql::FUNCTION_COST_GROUPS.query(self.client(), &params)?;
        Ok(query.fetch_all().await?)
    }

    /// Invocations, cold starts and cost of everything in `scope`.
    pub async fn invocation_totals(
        &self,
        scope: &InvocationScope,
    ) -> Result<CostTotals, QueryError> {
        let groups = self
            .billing_groups(scope, WHOLE_WINDOW_STEP_SECONDS)
            .await?;
        Ok(CostTotals::of(self.pricing(), &groups))
    }

    /// The FaaS metric points of `scope`'s functions and window, oldest first.
    pub async fn faas_points(
        &self,
        scope: &InvocationScope,
    ) -> Result<Vec<FaasPointRow>, QueryError> {
        let query = sql::FAAS_METRIC_POINTS.query(self.client(), &scope.window_params())?;
        Ok(query.fetch_all().await?)
    }

    /// Every function with invocations in `range`: from spans, and from
    /// FaaS metrics for functions that sent no spans in the range.
    pub async fn functions(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
    ) -> Result<FunctionList, QueryError> {
        self.function_list_of(&InvocationScope::window(project, range))
            .await
    }

    /// The functions of `scope`, counted and priced as one answer.
    pub async fn function_list_of(
        &self,
        scope: &InvocationScope,
    ) -> Result<FunctionList, QueryError> {
        let (rows, groups) = agreeing(
            || self.function_rows(scope),
            || self.billing_groups(scope, WHOLE_WINDOW_STEP_SECONDS),
        )
        .await?;
        Ok(self.function_list(&scope.window, rows, &groups))
    }

    /// The per-function rows of `scope`: statistics from spans and FaaS
    /// metric points, read together.
    pub async fn function_rows(&self, scope: &InvocationScope) -> Result<FunctionRows, QueryError> {
        let params = self.slot_params(scope, None).await?;
        let (stats, points) = futures::future::try_join(
            self.fetch::<FunctionStatsRow>(&sql::FUNCTION_STATS, &params),
            self.faas_points(scope),
        )
        .await?;
        Ok(FunctionRows { stats, points })
    }

    /// The functions of `rows` over `range`, priced by `groups` (the
    /// scope's billing groups at any step that divides a day).
    pub fn function_list(
        &self,
        range: &TimeWindow,
        rows: FunctionRows,
        groups: &[BillingGroupRow],
    ) -> FunctionList {
        let FunctionRows { stats, points } = rows;
        let mut costs: BTreeMap<&str, CostTotals> = BTreeMap::new();
        let by_day = groups_by_day(groups);
        for group in &by_day {
            costs
                .entry(group.function.as_str())
                .or_default()
                .add(self.pricing(), group);
        }
        // Init durations from REPORT lines first, else from faas.init_duration.
        let metric_inits = from_metrics::init_durations(&points, range);
        let mut functions: Vec<FunctionSummary> = Vec::new();
        for row in &stats {
            let cost = costs
                .get(row.function.as_str())
                .cloned()
                .unwrap_or_default();
            let mut facts = row.facts(&cost, self.pricing());
            if facts.init_duration_ms.is_none() {
                facts.init_duration_ms = metric_inits.get(&row.function).cloned();
            }
            functions.push(FunctionSummary::new(facts, range));
        }
        let with_spans: BTreeSet<String> = stats.into_iter().map(|row| row.function).collect();
        let metrics_only =
            from_metrics::metrics_only_functions(points, range, &with_spans, self.pricing());
        functions.extend(
            metrics_only
                .into_iter()
                .map(|facts| FunctionSummary::new(facts, range)),
        );
        FunctionList::new(functions, self.pricing())
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
        let scope = InvocationScope::function(project, function, range);
        let (rows, groups) = agreeing(
            || self.timeseries_rows(&scope, step_seconds),
            || self.billing_groups(&scope, step_seconds),
        )
        .await?;
        self.timeseries_of(&scope, function, rows, &groups, step_seconds)
            .await
    }

    /// The time-series rows of `scope` per bucket of `step_seconds`.
    pub async fn timeseries_rows(
        &self,
        scope: &InvocationScope,
        step_seconds: u32,
    ) -> Result<Vec<TimeseriesRow>, QueryError> {
        let params = self
            .slot_params(scope, Some(step_seconds))
            .await?
            .set("step", step_seconds);
        self.fetch(&sql::FUNCTION_TIMESERIES, &params).await
    }

    /// The buckets of `rows` priced by `groups` (both of `scope` at
    /// `step_seconds`), labelled `label`; without rows, those of the
    /// function's FaaS metrics, and 404 without any.
    pub async fn timeseries_of(
        &self,
        scope: &InvocationScope,
        label: &str,
        rows: Vec<TimeseriesRow>,
        groups: &[BillingGroupRow],
        step_seconds: u32,
    ) -> Result<FunctionTimeseries, QueryError> {
        if !rows.is_empty() || scope.functions.is_empty() {
            let buckets = self.span_buckets(scope, &rows, groups, step_seconds);
            return Ok(FunctionTimeseries::new(
                label,
                step_seconds,
                Source::Spans,
                buckets,
            ));
        }
        let starts = bucket_starts(&scope.window, step_seconds);
        let points = self.faas_points(scope).await?;
        let buckets = from_metrics::timeseries_buckets(
            label,
            points,
            &scope.window,
            step_seconds,
            &starts,
            self.pricing(),
        )
        .ok_or_else(|| QueryError::NotFound(format!("function {label:?}")))?;
        Ok(FunctionTimeseries::new(
            label,
            step_seconds,
            Source::Metrics,
            buckets,
        ))
    }

    /// Every function of `project` together per bucket of `step_seconds`
    /// (from spans; empty buckets are zeros), labelled `label`.
    pub async fn window_timeseries(
        &self,
        project: &ProjectId,
        range: &TimeWindow,
        step_seconds: u32,
        label: &str,
    ) -> Result<FunctionTimeseries, QueryError> {
        let scope = InvocationScope::window(project, range);
        let (rows, groups) = agreeing(
            || self.timeseries_rows(&scope, step_seconds),
            || self.billing_groups(&scope, step_seconds),
        )
        .await?;
        self.timeseries_of(&scope, label, rows, &groups, step_seconds)
            .await
    }

    /// The buckets of `scope` from its time-series rows, priced by its groups.
    fn span_buckets(
        &self,
        scope: &InvocationScope,
        rows: &[TimeseriesRow],
        groups: &[BillingGroupRow],
        step_seconds: u32,
    ) -> Vec<(u32, BucketFacts)> {
        let starts = bucket_starts(&scope.window, step_seconds);
        let mut costs: BTreeMap<u32, CostTotals> = BTreeMap::new();
        for group in groups {
            costs
                .entry(group.bucket)
                .or_default()
                .add(self.pricing(), group);
        }
        let by_bucket: BTreeMap<u32, &TimeseriesRow> =
            rows.iter().map(|row| (row.bucket, row)).collect();
        starts
            .iter()
            .map(|start| {
                let facts = match by_bucket.get(start) {
                    Some(row) => row.facts(&costs.get(start).cloned().unwrap_or_default()),
                    None => BucketFacts::empty(),
                };
                (*start, facts)
            })
            .collect()
    }

    /// The cold starts of a function in `range`, newest first, and its
    /// duration histogram cold vs warm; for a function known only from FaaS
    /// metrics, its count. 404 for a function without invocations.
    pub async fn cold_starts(
        &self,
        project: &ProjectId,
        function: &str,
        range: &TimeWindow,
    ) -> Result<ColdStarts, QueryError> {
        let scope = InvocationScope::function(project, function, range);
        let histogram: Vec<HistogramRow> = self
            .fetch(&sql::DURATION_HISTOGRAM, &self.scope_params(&scope).await?)
            .await?;
        if histogram.is_empty() {
            let points = self.faas_points(&scope).await?;
            return match from_metrics::function_facts(function, points, range, self.pricing()) {
                Some(facts) => Ok(ColdStarts::from_metrics(function, facts.cold_starts)),
                None => Err(QueryError::NotFound(format!("function {function:?}"))),
            };
        }
        let params = self
            .scope_params(&scope)
            .await?
            .set("limit", COLD_START_LIST_LIMIT + 1);
        let rows: Vec<ColdStartRow> = self.fetch(&sql::COLDSTART_INVOCATIONS, &params).await?;
        Ok(ColdStarts::from_spans(
            function,
            rows.into_iter().map(ColdStartView::from).collect(),
            histogram.into_iter().map(HistogramBucket::from).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Params;

    fn scope() -> InvocationScope {
        let window = TimeWindow {
            start_unix_nano: 1,
            end_unix_nano: 2,
        };
        InvocationScope::function(&ProjectId::default(), "f", &window)
    }

    fn group(function: &str, bucket: u32, is_cold: u8, invocations: u64) -> BillingGroupRow {
        BillingGroupRow {
            function: function.to_owned(),
            bucket,
            provider: "aws".to_owned(),
            region: "eu-west-1".to_owned(),
            arch: "arm64".to_owned(),
            memory_mb: 128,
            is_cold,
            invocations,
            billed_ms_aws: invocations * 10,
            billed_ms_azure: invocations * 100,
            billed_ms_gcp: invocations * 100,
        }
    }

    /// Minute groups summed per day are the groups of a read at a step of
    /// a day: per function, day, traits and cold or warm.
    #[test]
    fn groups_by_day_sum_within_a_day_only() {
        let day = 86_400 * 19_000;
        let groups = [
            group("b", day + 60, 0, 2),
            group("a", day + 120, 0, 3),
            group("a", day + 60, 0, 1),
            group("a", day + 60, 1, 1),
            group("a", day + 86_400 + 60, 0, 5),
        ];
        let summed: Vec<(String, u32, u8, u64, u64)> = groups_by_day(&groups)
            .into_iter()
            .map(|g| {
                (
                    g.function,
                    g.bucket,
                    g.is_cold,
                    g.invocations,
                    g.billed_ms_aws,
                )
            })
            .collect();
        let expected = [
            ("a", day, 0, 4, 40),
            ("a", day, 1, 1, 10),
            ("a", day + 86_400, 0, 5, 50),
            ("b", day, 0, 2, 20),
        ];
        let expected: Vec<(String, u32, u8, u64, u64)> = expected
            .iter()
            .map(|(f, b, c, i, ms)| ((*f).to_owned(), *b, *c, *i, *ms))
            .collect();
        assert_eq!(summed, expected);
    }

    /// The binds each read builds agree with its template.
    #[test]
    fn every_read_binds_what_its_template_declares() {
        let scope = scope();
        let with_step = scope.slot_params_split(0, Some(60)).set("step", 60u32);
        let slots = scope.slot_params_split(0, None);
        let with_limit = scope.params().set("limit", COLD_START_LIST_LIMIT + 1);
        let reads: [(&sql::Template, &Params); 6] = [
            (&sql::FUNCTION_STATS, &slots),
            (&sql::FUNCTION_TIMESERIES, &with_step),
            (&sql::FUNCTION_COST_GROUPS, &with_step),
            (&sql::DURATION_HISTOGRAM, &scope.params()),
            (&sql::COLDSTART_INVOCATIONS, &with_limit),
            (&sql::FAAS_METRIC_POINTS, &scope.window_params()),
        ];
        for (template, params) in reads {
            assert_eq!(template.check(params), Ok(()));
        }
    }
}
