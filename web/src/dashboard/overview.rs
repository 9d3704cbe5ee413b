//! `/`: the overview. Headline tiles with sparklines and the change against
//! the previous window, charts over time, and the top-5 lists that answer
//! "what costs most, what fails, whose cold starts hurt, what broke".

use super::charts::{self, Series, Svg, TimeChart, TimeKind, Unit};
use super::format::{self, Change, Trend};
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use tracehouse_model::time::now_unix_nano;
use tracehouse_query::chains::broken::BrokenHandOffView;
use tracehouse_query::serverless::detail::{CostByFunction, WindowTotals};
use tracehouse_query::serverless::InvocationScope;
use tracehouse_query::serverless::{FunctionList, FunctionSummary, FunctionTimeseries};
use tracehouse_query::QueryError;

/// One headline figure.
pub struct Tile {
    pub label: &'static str,
    pub value: String,
    pub change: Change,
    pub sparkline: Svg,
}

/// One entry of a top-5 list.
pub struct TopItem {
    pub label: String,
    pub href: String,
    pub figure: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    frame: Frame,
    empty: bool,
    ready: bool,
    otlp_grpc: String,
    otlp_http: String,
    tiles: Vec<Tile>,
    charts: Vec<Svg>,
    most_expensive: Vec<TopItem>,
    highest_error_rate: Vec<TopItem>,
    worst_cold_starts: Vec<TopItem>,
    broken: Vec<TopItem>,
    /// Firing alerts, or why they cannot be shown.
    firing: Result<Vec<TopItem>, String>,
}

/// What the overview reads, all at once.
struct OverviewData {
    list: FunctionList,
    /// The previous window's cost (or why it is unknown).
    previous_cost: Result<f64, String>,
    totals: WindowTotals,
    previous_totals: WindowTotals,
    series: FunctionTimeseries,
    costs: CostByFunction,
    broken: Vec<BrokenHandOffView>,
}

async fn read(state: &AppState, frame: &Frame) -> Result<OverviewData, QueryError> {
    let (project, window, previous) = (&frame.project, &frame.window, frame.previous_window());
    let step = frame.chart_step_seconds();
    let query = &state.query;
    let previous_scope = InvocationScope::window(project, &previous);
    let (list, previous_list, totals, previous_totals, series, costs, broken) = tokio::join!(
        query.functions(project, window),
        query.invocation_totals(&previous_scope),
        query.window_totals(project, window),
        query.window_totals(project, &previous),
        query.window_timeseries(project, window, step, "every function"),
        query.cost_by_function(project, window, step),
        query.broken_chains(project, *window, now_unix_nano(), 5),
    );
    Ok(OverviewData {
        list: list?,
        previous_cost: previous_list?.usd(),
        totals: totals?,
        previous_totals: previous_totals?,
        series: series?,
        costs: costs?,
        broken: broken?.broken,
    })
}

/// `GET /`.
pub async fn overview_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FrameParams>,
) -> Response {
    let frame = match page_frame(&state, &scope, &params, Section::Overview, "/").await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let data = match read(&state, &frame).await {
        Ok(data) => data,
        Err(error) => return ErrorPage::from(error).into_page(frame),
    };
    let (readiness, firing) = tokio::join!(
        state.query.readiness(),
        tracehouse_alerting::firing_alerts(state.query.client(), &frame.project)
    );
    let firing = firing
        .map(|alerts| firing_items(&frame, &alerts))
        .map_err(|error| {
            tracing::error!(%error, "overview: reading firing alerts failed");
            "alerts are unavailable".to_owned()
        });
    let page = OverviewPage {
        firing,
        empty: data.list.functions.is_empty() && data.totals.invocations == 0,
        ready: readiness.ready,
        otlp_grpc: state.endpoints.otlp_grpc.clone(),
        otlp_http: state.endpoints.otlp_http.clone(),
        tiles: tiles(&data),
        charts: overview_charts(&data, frame.chart_step_seconds()),
        most_expensive: most_expensive(&frame, &data.list.functions),
        highest_error_rate: highest_error_rate(&frame, &data.list.functions),
        worst_cold_starts: worst_cold_starts(&frame, &data.list.functions),
        broken: broken(&frame, &data.broken),
        frame,
    };
    render(&page)
}

/// Firing alerts as overview items, each linking to the alerts page.
fn firing_items(frame: &Frame, alerts: &[tracehouse_alerting::FiringAlert]) -> Vec<TopItem> {
    alerts
        .iter()
        .take(5)
        .map(|alert| TopItem {
            href: frame.href("/alerts"),
            label: if alert.function.is_empty() {
                alert.rule.clone()
            } else {
                format!("{} · {}", alert.rule, alert.function)
            },
            figure: alert
                .value
                .map_or_else(|| "firing".to_owned(), |value| format!("{value:.4}")),
            detail: format!("since {}: {}", alert.since, alert.summary),
        })
        .collect()
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn bucket_values(
    data: &OverviewData,
    pick: impl Fn(&tracehouse_query::serverless::TimeseriesBucket) -> f64,
) -> Vec<f64> {
    data.series.buckets.iter().map(pick).collect()
}

fn tiles(data: &OverviewData) -> Vec<Tile> {
    let (now, before) = (&data.totals, &data.previous_totals);
    let neutral = |mut change: Change| {
        change.trend = Trend::Same;
        change
    };
    let cost = data.list.totals.cost_usd;
    let cost_change = match (cost, &data.previous_cost) {
        (Some(current), Ok(previous)) => format::change(current, *previous, true),
        _ => format::change(0.0, 0.0, true),
    };
    vec![
        Tile {
            label: "Invocations",
            value: format::count(now.invocations),
            change: neutral(format::change(
                now.invocations as f64,
                before.invocations as f64,
                false,
            )),
            sparkline: charts::sparkline(
                "Invocations",
                &bucket_values(data, |b| b.invocations as f64),
                Unit::Count,
            ),
        },
        Tile {
            label: "Error rate",
            value: format::percent(ratio(now.errors, now.invocations)),
            change: format::change(
                ratio(now.errors, now.invocations),
                ratio(before.errors, before.invocations),
                true,
            ),
            sparkline: charts::sparkline(
                "Error rate",
                &bucket_values(data, |b| ratio(b.errors, b.invocations)),
                Unit::Ratio,
            ),
        },
        Tile {
            label: "Cold-start rate",
            value: format::percent(ratio(now.cold_starts, now.invocations)),
            change: format::change(
                ratio(now.cold_starts, now.invocations),
                ratio(before.cold_starts, before.invocations),
                true,
            ),
            sparkline: charts::sparkline(
                "Cold-start rate",
                &bucket_values(data, |b| ratio(b.cold_starts, b.invocations)),
                Unit::Ratio,
            ),
        },
        Tile {
            label: "p95 latency",
            value: format::ms(now.p95_ms),
            change: format::change(
                now.p95_ms.unwrap_or(0.0),
                before.p95_ms.unwrap_or(0.0),
                true,
            ),
            sparkline: charts::sparkline(
                "p95 latency",
                &bucket_values(data, |b| b.p95_ms.unwrap_or(0.0)),
                Unit::Ms,
            ),
        },
        Tile {
            label: "Cost in window",
            value: format::usd(cost),
            change: cost_change.clone(),
            sparkline: charts::sparkline(
                "Cost",
                &bucket_values(data, |b| b.cost_usd.unwrap_or(0.0)),
                Unit::Usd,
            ),
        },
        Tile {
            label: "Projected monthly",
            value: format::usd(data.list.totals.projected_monthly_cost_usd),
            change: cost_change,
            sparkline: charts::sparkline(
                "Cost",
                &bucket_values(data, |b| b.cost_usd.unwrap_or(0.0)),
                Unit::Usd,
            ),
        },
    ]
}

fn overview_charts(data: &OverviewData, step_seconds: u32) -> Vec<Svg> {
    let step_ms = u64::from(step_seconds) * 1000;
    let buckets = data.series.buckets.as_slice();
    let times: Vec<u64> = buckets.iter().map(|bucket| bucket.time).collect();
    let invocations = TimeChart {
        title: "Invocations and errors".to_owned(),
        unit: Unit::Count,
        kind: TimeKind::Stacked,
        times_ms: times.clone(),
        step_ms,
        series: vec![
            Series {
                label: "succeeded".to_owned(),
                values: buckets
                    .iter()
                    .map(|b| Some(b.invocations.saturating_sub(b.errors) as f64))
                    .collect(),
            },
            Series {
                label: "failed".to_owned(),
                values: buckets.iter().map(|b| Some(b.errors as f64)).collect(),
            },
        ],
    };
    let cold = TimeChart {
        title: "Cold starts".to_owned(),
        unit: Unit::Count,
        kind: TimeKind::Line,
        times_ms: times,
        step_ms,
        series: vec![Series {
            label: "cold starts".to_owned(),
            values: buckets.iter().map(|b| Some(b.cold_starts as f64)).collect(),
        }],
    };
    vec![
        charts::time_chart(&invocations),
        charts::time_chart(&cost_chart(&data.costs, step_ms)),
        charts::time_chart(&cold),
    ]
}

/// Cost by function: the five most expensive and everything else as "other".
pub fn cost_chart(costs: &CostByFunction, step_ms: u64) -> TimeChart {
    let mut series: Vec<Series> = costs
        .functions
        .iter()
        .take(5)
        .map(|function| Series {
            label: function.function.clone(),
            values: function.buckets.clone(),
        })
        .collect();
    let rest = costs.functions.get(5..).unwrap_or_default();
    if !rest.is_empty() {
        let values = (0..costs.times_ms.len())
            .map(|bucket| {
                rest.iter()
                    .map(|function| function.buckets.get(bucket).copied().flatten())
                    .sum::<Option<f64>>()
            })
            .collect();
        series.push(Series {
            label: "other".to_owned(),
            values,
        });
    }
    TimeChart {
        title: "Cost by function".to_owned(),
        unit: Unit::Usd,
        kind: TimeKind::Stacked,
        times_ms: costs.times_ms.clone(),
        step_ms,
        series,
    }
}

fn most_expensive(frame: &Frame, functions: &[FunctionSummary]) -> Vec<TopItem> {
    let mut priced: Vec<&FunctionSummary> =
        functions.iter().filter(|f| f.cost_usd.is_some()).collect();
    priced.sort_by(|a, b| {
        b.cost_usd
            .unwrap_or(0.0)
            .total_cmp(&a.cost_usd.unwrap_or(0.0))
    });
    priced
        .into_iter()
        .take(5)
        .map(|function| TopItem {
            label: function.function.clone(),
            href: frame.function_href(&function.function),
            figure: format::usd(function.cost_usd),
            detail: format!(
                "{} per million invocations, {} projected monthly",
                format::usd(function.cost_per_million_invocations_usd),
                format::usd(function.projected_monthly_cost_usd)
            ),
        })
        .collect()
}

fn highest_error_rate(frame: &Frame, functions: &[FunctionSummary]) -> Vec<TopItem> {
    let mut failing: Vec<&FunctionSummary> = functions.iter().filter(|f| f.errors > 0).collect();
    failing.sort_by(|a, b| {
        b.error_rate
            .total_cmp(&a.error_rate)
            .then(b.errors.cmp(&a.errors))
    });
    failing
        .into_iter()
        .take(5)
        .map(|function| TopItem {
            label: function.function.clone(),
            href: frame.function_href(&function.function),
            figure: format::percent(function.error_rate),
            detail: format!(
                "{} of {} invocations failed",
                format::count(function.errors),
                format::count(function.invocations)
            ),
        })
        .collect()
}

fn worst_cold_starts(frame: &Frame, functions: &[FunctionSummary]) -> Vec<TopItem> {
    let mut cold: Vec<&FunctionSummary> = functions.iter().filter(|f| f.cold_starts > 0).collect();
    let weight =
        |f: &FunctionSummary| f.cold_start_penalty_ms.unwrap_or(0.0) * f.cold_starts as f64;
    cold.sort_by(|a, b| weight(b).total_cmp(&weight(a)));
    cold.into_iter()
        .take(5)
        .map(|function| TopItem {
            label: function.function.clone(),
            href: frame.function_href(&function.function),
            figure: function.cold_start_penalty_ms.map_or_else(
                || "no warm invocations to compare".to_owned(),
                |penalty| format!("+{} each", format::ms(Some(penalty))),
            ),
            detail: format!(
                "{} cold starts ({}), {} extra cost{}",
                format::count(function.cold_starts),
                format::percent(function.cold_start_rate),
                format::usd(function.cold_start_penalty_usd),
                function
                    .init_duration_ms
                    .as_ref()
                    .map(|init| format!(", init p50 {}", format::ms(Some(init.p50))))
                    .unwrap_or_default()
            ),
        })
        .collect()
}

fn broken(frame: &Frame, handoffs: &[BrokenHandOffView]) -> Vec<TopItem> {
    handoffs
        .iter()
        .map(|handoff| TopItem {
            label: format!("{} → {}", handoff.service, handoff.destination),
            href: frame.href(&format!("/chains/{}", handoff.trace_id)),
            figure: handoff.reason.label().to_owned(),
            detail: format!(
                "message {} waited {}",
                handoff.message_id,
                format::ms(Some(handoff.waited_ms))
            ),
        })
        .collect()
}
