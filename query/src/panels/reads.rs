//! Running the named queries of one page. Each underlying read of
//! [`QueryService`] is made at most once per page (a cell per read, and per
//! function for the reads of one function), so panels that share a read
//! share its answer, and panels awaited together take as long as the
//! slowest read, not the sum.

use super::data::{
    Better, Category, Cell, NamedSeries, PanelData, Stat, Table, TableRow, TimeSeries,
};
use super::named::{NamedQuery, Shape};
use crate::error::QueryError;
use crate::serverless::agree::CountsInvocations;
use crate::serverless::cost::BillingGroupRow;
use crate::serverless::detail::{CostByFunction, WindowTotals};
use crate::serverless::{
    ColdStarts, FunctionList, FunctionSummary, FunctionTimeseries, InvocationScope,
    TimeseriesBucket,
};
use crate::time_window::TimeWindow;
use crate::QueryService;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tracehouse_model::ProjectId;

/// Functions drawn by name in `cost_by_function`; the rest is "other".
const COST_SERIES_FUNCTIONS: usize = 5;

/// The parameters every named query of a page shares.
#[derive(Debug, Clone)]
pub struct PanelRequest {
    pub project: ProjectId,
    pub window: TimeWindow,
    /// The window of the same length just before, for changes.
    pub previous: TimeWindow,
    /// Bucket length of time series.
    pub step_seconds: u32,
}

type Once<T> = OnceCell<Result<T, QueryError>>;

/// Cells of a read of one function, by function (`None`: every function).
struct ByFunction<T>(Mutex<BTreeMap<Option<String>, Arc<Once<T>>>>);

impl<T> ByFunction<T> {
    fn new() -> Self {
        Self(Mutex::new(BTreeMap::new()))
    }

    fn cell(&self, function: Option<&str>) -> Arc<Once<T>> {
        let mut cells = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(cells.entry(function.map(str::to_owned)).or_default())
    }
}

/// The reads of one page, each made once.
pub struct PanelReads<'a> {
    query: &'a QueryService,
    request: PanelRequest,
    functions: Once<FunctionList>,
    totals: Once<WindowTotals>,
    previous_totals: Once<WindowTotals>,
    previous_cost: Once<Result<f64, String>>,
    cost_by_function: Once<CostByFunction>,
    series: ByFunction<FunctionTimeseries>,
    cold_starts: ByFunction<ColdStarts>,
    /// Billing groups at the page's step: the list, the series and the
    /// cost chart price the same groups.
    groups: ByFunction<Arc<Vec<BillingGroupRow>>>,
}

/// A copy of a shared read's error for each panel that used the read.
/// Storage errors are logged here, where they happened, once.
fn copy_error(error: &QueryError) -> QueryError {
    match error {
        QueryError::NotFound(what) => QueryError::NotFound(what.clone()),
        QueryError::BadRequest(message) => QueryError::BadRequest(message.clone()),
        QueryError::Template(problem) => QueryError::Template(problem.clone()),
        QueryError::Storage(source) => {
            QueryError::Storage(clickhouse::error::Error::Custom(source.to_string()))
        }
    }
}

async fn once<T, F>(cell: &Once<T>, read: impl FnOnce() -> F) -> Result<&T, QueryError>
where
    F: Future<Output = Result<T, QueryError>>,
{
    cell.get_or_init(read).await.as_ref().map_err(copy_error)
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl<'a> PanelReads<'a> {
    /// Nothing read yet.
    pub fn new(query: &'a QueryService, request: PanelRequest) -> Self {
        Self {
            query,
            request,
            functions: OnceCell::new(),
            totals: OnceCell::new(),
            previous_totals: OnceCell::new(),
            previous_cost: OnceCell::new(),
            cost_by_function: OnceCell::new(),
            series: ByFunction::new(),
            cold_starts: ByFunction::new(),
            groups: ByFunction::new(),
        }
    }

    /// The parameters of the page.
    pub fn request(&self) -> &PanelRequest {
        &self.request
    }

    /// Every function of the window ([`QueryService::functions`]).
    pub async fn functions(&self) -> Result<&FunctionList, QueryError> {
        let scope = InvocationScope::window(&self.request.project, &self.request.window);
        once(&self.functions, || self.function_list(scope)).await
    }

    /// The summary of one function, as the list of every function gives
    /// it; 404 for a function without invocations in the window.
    pub async fn function_summary(&self, function: &str) -> Result<FunctionSummary, QueryError> {
        let request = &self.request;
        let scope = InvocationScope::function(&request.project, function, &request.window);
        let list = self.function_list(scope).await?;
        list.functions
            .into_iter()
            .find(|summary| summary.function == function)
            .ok_or_else(|| QueryError::NotFound(format!("function {function:?}")))
    }

    async fn function_list(&self, scope: InvocationScope) -> Result<FunctionList, QueryError> {
        let function = scope.functions.first().map(String::as_str);
        let (rows, groups) = tokio::join!(self.query.function_rows(&scope), self.groups(function));
        let (rows, groups) = (rows?, groups?);
        if rows.span_invocations() != groups.invocations() {
            // Spans arrived between the two reads: read the pair as one answer.
            return self.query.function_list_of(&scope).await;
        }
        Ok(self.query.function_list(&scope.window, rows, &groups))
    }

    /// The billing groups of one function, or of every function, at the page's step.
    async fn groups(
        &self,
        function: Option<&str>,
    ) -> Result<Arc<Vec<BillingGroupRow>>, QueryError> {
        let cell = self.groups.cell(function);
        let scope = self.scope(function);
        let step = self.request.step_seconds;
        once(&cell, || async move {
            Ok(Arc::new(self.query.billing_groups(&scope, step).await?))
        })
        .await
        .cloned()
    }

    fn scope(&self, function: Option<&str>) -> InvocationScope {
        let request = &self.request;
        match function {
            Some(name) => InvocationScope::function(&request.project, name, &request.window),
            None => InvocationScope::window(&request.project, &request.window),
        }
    }

    /// Every function together over the window.
    pub async fn totals(&self) -> Result<&WindowTotals, QueryError> {
        let request = &self.request;
        once(&self.totals, || {
            self.query.window_totals(&request.project, &request.window)
        })
        .await
    }

    async fn previous_totals(&self) -> Result<&WindowTotals, QueryError> {
        let request = &self.request;
        once(&self.previous_totals, || {
            self.query
                .window_totals(&request.project, &request.previous)
        })
        .await
    }

    /// The previous window's cost, or why it is unknown.
    async fn previous_cost(&self) -> Result<&Result<f64, String>, QueryError> {
        let scope = InvocationScope::window(&self.request.project, &self.request.previous);
        once(&self.previous_cost, || async move {
            Ok(self.query.invocation_totals(&scope).await?.usd())
        })
        .await
    }

    async fn cost_by_function(&self) -> Result<&CostByFunction, QueryError> {
        let request = &self.request;
        once(&self.cost_by_function, || async move {
            let groups = self.groups(None).await?;
            Ok(self
                .query
                .cost_by_function_of(&request.window, request.step_seconds, &groups))
        })
        .await
    }

    /// Buckets of one function, or of every function together.
    async fn timeseries(&self, function: Option<&str>) -> Result<FunctionTimeseries, QueryError> {
        let cell = self.series.cell(function);
        let scope = self.scope(function);
        let step = self.request.step_seconds;
        let read = || async move {
            let (rows, groups) = tokio::join!(
                self.query.timeseries_rows(&scope, step),
                self.groups(function)
            );
            let label = function.unwrap_or("every function");
            self.query
                .timeseries_of(&scope, label, rows?, &groups?, step)
                .await
        };
        once(&cell, read).await.cloned()
    }

    /// A function's cold starts and its cold and warm durations.
    pub async fn cold_starts(&self, function: &str) -> Result<ColdStarts, QueryError> {
        let cell = self.cold_starts.cell(Some(function));
        let request = &self.request;
        once(&cell, || {
            self.query
                .cold_starts(&request.project, function, &request.window)
        })
        .await
        .cloned()
    }

    /// The answer of `query`, for `function` when it reads one.
    pub async fn run(
        &self,
        query: NamedQuery,
        function: Option<&str>,
    ) -> Result<PanelData, QueryError> {
        match query.shape() {
            Shape::TimeSeries if query == NamedQuery::CostByFunction => Ok(PanelData::TimeSeries(
                cost_series(self.cost_by_function().await?, self.step_ms()),
            )),
            Shape::TimeSeries => {
                let series = self.timeseries(function).await?;
                Ok(PanelData::TimeSeries(TimeSeries {
                    times_ms: series.buckets.iter().map(|bucket| bucket.time).collect(),
                    step_ms: self.step_ms(),
                    series: bucket_series(query, &series.buckets),
                }))
            }
            Shape::Histogram => {
                let name = function.ok_or_else(|| {
                    QueryError::BadRequest(format!("{} needs a function", query.name()))
                })?;
                let cold = self.cold_starts(name).await?;
                Ok(PanelData::Histogram {
                    series: vec!["cold".to_owned(), "warm".to_owned()],
                    bins: cold
                        .histogram
                        .iter()
                        .map(|bucket| (bucket.le_ms, vec![bucket.cold, bucket.warm]))
                        .collect(),
                })
            }
            Shape::Categories => Ok(PanelData::Categories(function_costs(
                self.functions().await?,
            ))),
            Shape::Table => Ok(PanelData::Table(function_table(self.functions().await?))),
            Shape::Stat => self.stat(query).await.map(PanelData::Stat),
        }
    }

    fn step_ms(&self) -> u64 {
        u64::from(self.request.step_seconds) * 1000
    }

    async fn stat(&self, query: NamedQuery) -> Result<Stat, QueryError> {
        let (series, now, before) =
            tokio::join!(self.timeseries(None), self.totals(), self.previous_totals());
        let (buckets, now, before) = (series?.buckets, now?, before?);
        let trend = |pick: fn(&TimeseriesBucket) -> f64| buckets.iter().map(pick).collect();
        let rate_stat = |part: fn(&WindowTotals) -> u64, pick| Stat {
            value: Some(ratio(part(now), now.invocations)),
            change: Some((
                ratio(part(now), now.invocations),
                ratio(part(before), before.invocations),
            )),
            better: Better::Lower,
            trend: trend(pick),
        };
        let stat = match query {
            NamedQuery::InvocationsTotal => Stat {
                value: Some(now.invocations as f64),
                change: Some((now.invocations as f64, before.invocations as f64)),
                better: Better::Neither,
                trend: trend(|b| b.invocations as f64),
            },
            NamedQuery::ErrorRateTotal => {
                rate_stat(|t| t.errors, |b| ratio(b.errors, b.invocations))
            }
            NamedQuery::ColdStartRateTotal => {
                rate_stat(|t| t.cold_starts, |b| ratio(b.cold_starts, b.invocations))
            }
            NamedQuery::P95LatencyTotal => Stat {
                value: now.p95_ms,
                change: Some((now.p95_ms.unwrap_or(0.0), before.p95_ms.unwrap_or(0.0))),
                better: Better::Lower,
                trend: trend(|b| b.p95_ms.unwrap_or(0.0)),
            },
            _ => {
                self.cost_stat(query, trend(|b| b.cost_usd.unwrap_or(0.0)))
                    .await?
            }
        };
        Ok(stat)
    }

    /// The cost and the projected monthly cost; both change as the cost does.
    async fn cost_stat(&self, query: NamedQuery, trend: Vec<f64>) -> Result<Stat, QueryError> {
        let (list, previous) = tokio::join!(self.functions(), self.previous_cost());
        let totals = &list?.totals;
        let change = match (totals.cost_usd, previous?) {
            (Some(current), Ok(previous)) => Some((current, *previous)),
            _ => None,
        };
        Ok(Stat {
            value: if query == NamedQuery::ProjectedMonthlyCost {
                totals.projected_monthly_cost_usd
            } else {
                totals.cost_usd
            },
            change,
            better: Better::Lower,
            trend,
        })
    }
}

/// The series a bucketed named query draws.
fn bucket_series(query: NamedQuery, buckets: &[TimeseriesBucket]) -> Vec<NamedSeries> {
    let series = |label: &str, pick: &dyn Fn(&TimeseriesBucket) -> Option<f64>| NamedSeries {
        label: label.to_owned(),
        values: buckets.iter().map(pick).collect(),
    };
    // Empty buckets carry no latency: a gap, not a zero.
    let ran = |bucket: &TimeseriesBucket| bucket.invocations > 0;
    match query {
        NamedQuery::InvocationsAndErrors => vec![
            series("succeeded", &|b| {
                Some(b.invocations.saturating_sub(b.errors) as f64)
            }),
            series("failed", &|b| Some(b.errors as f64)),
        ],
        NamedQuery::LatencyPercentiles => vec![
            series("p50", &|b| b.p50_ms.filter(|_| ran(b))),
            series("p95", &|b| b.p95_ms.filter(|_| ran(b))),
        ],
        NamedQuery::ColdStarts => vec![series("cold starts", &|b| Some(b.cold_starts as f64))],
        NamedQuery::ColdStartRate => vec![series("cold-start rate", &|b| {
            ran(b).then(|| ratio(b.cold_starts, b.invocations))
        })],
        _ => vec![series("cost", &|b| b.cost_usd)],
    }
}

/// Cost by function: the five most expensive and everything else as "other".
fn cost_series(costs: &CostByFunction, step_ms: u64) -> TimeSeries {
    let mut series: Vec<NamedSeries> = costs
        .functions
        .iter()
        .take(COST_SERIES_FUNCTIONS)
        .map(|function| NamedSeries {
            label: function.function.clone(),
            values: function.buckets.clone(),
        })
        .collect();
    let rest = costs
        .functions
        .get(COST_SERIES_FUNCTIONS..)
        .unwrap_or_default();
    if !rest.is_empty() {
        let values = (0..costs.times_ms.len())
            .map(|bucket| {
                rest.iter()
                    .map(|function| function.buckets.get(bucket).copied().flatten())
                    .sum::<Option<f64>>()
            })
            .collect();
        series.push(NamedSeries {
            label: "other".to_owned(),
            values,
        });
    }
    TimeSeries {
        times_ms: costs.times_ms.clone(),
        step_ms,
        series,
    }
}

/// Priced functions, most expensive first.
fn function_costs(list: &FunctionList) -> Vec<Category> {
    let mut priced: Vec<Category> = list
        .functions
        .iter()
        .filter_map(|function| {
            Some(Category {
                label: function.function.clone(),
                value: function.cost_usd?,
                function: Some(function.function.clone()),
            })
        })
        .collect();
    priced.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.label.cmp(&b.label))
    });
    priced
}

fn function_table(list: &FunctionList) -> Table {
    let columns = [
        "Function",
        "Invocations",
        "Error rate",
        "p95",
        "Cold-start rate",
        "Cost",
    ];
    Table {
        columns: columns.iter().map(|column| (*column).to_owned()).collect(),
        rows: list
            .functions
            .iter()
            .map(|function| TableRow {
                function: Some(function.function.clone()),
                cells: vec![
                    Cell::Text(function.function.clone()),
                    Cell::Count(function.invocations),
                    Cell::Ratio(function.error_rate),
                    Cell::Ms(function.duration_ms.as_ref().map(|duration| duration.p95)),
                    Cell::Ratio(function.cold_start_rate),
                    Cell::Usd(function.cost_usd),
                ],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serverless::detail::FunctionCostSeries;

    fn bucket(time: u64, invocations: u64, errors: u64) -> TimeseriesBucket {
        TimeseriesBucket {
            time,
            invocations,
            errors,
            cold_starts: 1.min(invocations),
            p50_ms: Some(10.0),
            p95_ms: Some(20.0),
            cost_usd: Some(0.5),
        }
    }

    /// Panels awaited together share one read of a cell: it runs once, both
    /// get its answer, and a failure reaches both.
    #[tokio::test]
    async fn a_shared_read_runs_once_for_every_panel() {
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let cell: Once<u64> = OnceCell::new();
        let read = || async {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(7)
        };
        let (first, second) = tokio::join!(once(&cell, read), once(&cell, read));
        assert_eq!((first.ok(), second.ok()), (Some(&7), Some(&7)));
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);

        let failing: Once<u64> = OnceCell::new();
        let broken = || async { Err(QueryError::NotFound("function \"x\"".to_owned())) };
        let (first, second) = tokio::join!(once(&failing, broken), once(&failing, broken));
        for answer in [first, second] {
            assert!(matches!(answer, Err(QueryError::NotFound(what)) if what == "function \"x\""));
        }
    }

    #[test]
    fn by_function_cells_are_one_per_function() {
        let cells: ByFunction<u64> = ByFunction::new();
        assert!(Arc::ptr_eq(&cells.cell(Some("a")), &cells.cell(Some("a"))));
        assert!(!Arc::ptr_eq(&cells.cell(Some("a")), &cells.cell(None)));
    }

    #[test]
    fn empty_buckets_are_gaps_in_latency_and_rates_but_zeros_in_counts() {
        let buckets = [bucket(0, 4, 1), bucket(60_000, 0, 0)];
        let latency = bucket_series(NamedQuery::LatencyPercentiles, &buckets);
        assert_eq!(latency[1].values, vec![Some(20.0), None]);
        let rate = bucket_series(NamedQuery::ColdStartRate, &buckets);
        assert_eq!(rate[0].values, vec![Some(0.25), None]);
        let counts = bucket_series(NamedQuery::InvocationsAndErrors, &buckets);
        assert_eq!(counts[0].values, vec![Some(3.0), Some(0.0)]);
        assert_eq!(counts[1].values, vec![Some(1.0), Some(0.0)]);
    }

    #[test]
    fn cost_by_function_keeps_five_and_sums_the_rest() {
        let costs = CostByFunction {
            times_ms: vec![0, 60_000],
            functions: (0..7)
                .map(|index| FunctionCostSeries {
                    function: format!("f{index}"),
                    total_usd: Some(1.0),
                    buckets: vec![Some(1.0), if index == 6 { None } else { Some(2.0) }],
                    invocations: vec![1, 1],
                })
                .collect(),
        };
        let series = cost_series(&costs, 60_000);
        assert_eq!(series.series.len(), 6);
        let other = series.series.last().expect("other");
        assert_eq!(other.label, "other");
        // An unknown cost in one function makes "other" unknown in that bucket.
        assert_eq!(other.values, vec![Some(2.0), None]);
    }
}
