//! The serverless reads of [`QueryService`]: each template over
//! `{effective_invocations}` is read here with an [`InvocationScope`], and
//! its rows become views through `from_spans`, `from_metrics` and `cost`.
//! New reads of functions belong here too.

use super::cost::{BillingGroupRow, CostTotals};
use super::from_metrics::{self, FaasPointRow};
use super::from_spans::{ColdStartRow, FunctionStatsRow, HistogramRow, TimeseriesRow};
use super::scope::InvocationScope;
use super::view::{
    bucket_starts, BucketFacts, ColdStartView, ColdStarts, FunctionList, FunctionSummary,
    FunctionTimeseries, HistogramBucket, Source, COLD_START_LIST_LIMIT,
};
use crate::error::QueryError;
use crate::sql;
use crate::time_window::TimeWindow;
use crate::QueryService;
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_model::ProjectId;

/// Step of the cost groups read when buckets do not matter (any step gives
/// the same sums; a day keeps the row count small).
const WHOLE_WINDOW_STEP_SECONDS: u32 = 86_400;

impl QueryService {
    /// Billing groups of `scope` per bucket of `step_seconds`.
    pub async fn billing_groups(
        &self,
        scope: &InvocationScope,
        step_seconds: u32,
    ) -> Result<Vec<BillingGroupRow>, QueryError> {
        let params = scope.params().set("step", step_seconds);
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
        let scope = InvocationScope::window(project, range);
        let stats: Vec<FunctionStatsRow> =
            self.fetch(&sql::FUNCTION_STATS, &scope.params()).await?;
        let groups = self
            .billing_groups(&scope, WHOLE_WINDOW_STEP_SECONDS)
            .await?;
        let mut costs: BTreeMap<&str, CostTotals> = BTreeMap::new();
        for group in &groups {
            costs
                .entry(group.function.as_str())
                .or_default()
                .add(self.pricing(), group);
        }
        let points = self.faas_points(&scope).await?;
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
        Ok(FunctionList::new(functions, self.pricing()))
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
        let scope = InvocationScope::function(project, function, range);
        let params = scope.params().set("step", step_seconds);
        let rows: Vec<TimeseriesRow> = self.fetch(&sql::FUNCTION_TIMESERIES, &params).await?;
        if rows.is_empty() {
            let points = self.faas_points(&scope).await?;
            let buckets = from_metrics::timeseries_buckets(
                function,
                points,
                range,
                step_seconds,
                &starts,
                self.pricing(),
            )
            .ok_or_else(|| QueryError::NotFound(format!("function {function:?}")))?;
            return Ok(FunctionTimeseries::new(
                function,
                step_seconds,
                Source::Metrics,
                buckets,
            ));
        }
        let buckets = self.span_buckets(&scope, &rows, step_seconds).await?;
        Ok(FunctionTimeseries::new(
            function,
            step_seconds,
            Source::Spans,
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
        let params = scope.params().set("step", step_seconds);
        let rows: Vec<TimeseriesRow> = self.fetch(&sql::FUNCTION_TIMESERIES, &params).await?;
        let buckets = self.span_buckets(&scope, &rows, step_seconds).await?;
        Ok(FunctionTimeseries::new(
            label,
            step_seconds,
            Source::Spans,
            buckets,
        ))
    }

    /// The buckets of `scope` from its time-series rows, priced.
    async fn span_buckets(
        &self,
        scope: &InvocationScope,
        rows: &[TimeseriesRow],
        step_seconds: u32,
    ) -> Result<Vec<(u32, BucketFacts)>, QueryError> {
        let starts = bucket_starts(&scope.window, step_seconds);
        let mut costs: BTreeMap<u32, CostTotals> = BTreeMap::new();
        for group in &self.billing_groups(scope, step_seconds).await? {
            costs
                .entry(group.bucket)
                .or_default()
                .add(self.pricing(), group);
        }
        let by_bucket: BTreeMap<u32, &TimeseriesRow> =
            rows.iter().map(|row| (row.bucket, row)).collect();
        let buckets = starts
            .iter()
            .map(|start| {
                let facts = match by_bucket.get(start) {
                    Some(row) => row.facts(&costs.get(start).cloned().unwrap_or_default()),
                    None => BucketFacts::empty(),
                };
                (*start, facts)
            })
            .collect();
        Ok(buckets)
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
            .fetch(&sql::DURATION_HISTOGRAM, &scope.params())
            .await?;
        if histogram.is_empty() {
            let points = self.faas_points(&scope).await?;
            return match from_metrics::function_facts(function, points, range, self.pricing()) {
                Some(facts) => Ok(ColdStarts::from_metrics(function, facts.cold_starts)),
                None => Err(QueryError::NotFound(format!("function {function:?}"))),
            };
        }
        let params = scope.params().set("limit", COLD_START_LIST_LIMIT + 1);
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

    /// The binds each read builds agree with its template.
    #[test]
    fn every_read_binds_what_its_template_declares() {
        let scope = scope();
        let with_step = scope.params().set("step", 60u32);
        let with_limit = scope.params().set("limit", COLD_START_LIST_LIMIT + 1);
        let reads: [(&sql::Template, &Params); 6] = [
            (&sql::FUNCTION_STATS, &scope.params()),
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
