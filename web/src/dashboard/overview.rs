//! `/`: the overview. Headline tiles with sparklines and the change against
//! the previous window and charts over time (the panels of
//! `dashboards/overview.yaml`), and the top-5 lists that answer "what costs
//! most, what fails, whose cold starts hurt, what broke".

use super::declared::page::refused;
use super::declared::render::{self, RowView};
use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, render as render_page, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use tracehouse_model::time::now_unix_nano;
use tracehouse_query::chains::broken::BrokenHandOffView;
use tracehouse_query::serverless::FunctionSummary;

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
    /// The panels of `dashboards/overview.yaml`.
    rows: Vec<RowView>,
    most_expensive: Vec<TopItem>,
    highest_error_rate: Vec<TopItem>,
    worst_cold_starts: Vec<TopItem>,
    broken: Vec<TopItem>,
    /// Firing alerts, or why they cannot be shown.
    firing: Result<Vec<TopItem>, String>,
}

/// `GET /`: the declared panels and the page's own lists, read together.
pub async fn overview_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FrameParams>,
) -> Response {
    let frame = match page_frame(&state, &scope, &params, Section::Overview, "/").await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let dashboard = match state.dashboards.overview() {
        Ok(dashboard) => dashboard,
        Err(error) => return refused(error).into_page(frame),
    };
    let reads = render::reads(&state.query, &frame);
    let query = &state.query;
    let (list, totals, chains, rows, readiness, firing) = tokio::join!(
        reads.functions(),
        reads.totals(),
        query.broken_chains(&frame.project, frame.window, now_unix_nano(), 5),
        render::draw(&reads, &frame, dashboard, None),
        query.readiness(),
        tracehouse_alerting::firing_alerts(query.client(), &frame.project)
    );
    let read = list.and_then(|list| Ok((list, totals?, chains?.broken, rows?)));
    let (list, totals, broken_chains, rows) = match read {
        Ok(read) => read,
        Err(error) => return ErrorPage::from(error).into_page(frame),
    };
    let firing = firing
        .map(|alerts| firing_items(&frame, &alerts))
        .map_err(|error| {
            tracing::error!(%error, "overview: reading firing alerts failed");
            "alerts are unavailable".to_owned()
        });
    let page = OverviewPage {
        firing,
        empty: list.functions.is_empty() && totals.invocations == 0,
        ready: readiness.ready,
        otlp_grpc: state.endpoints.otlp_grpc.clone(),
        otlp_http: state.endpoints.otlp_http.clone(),
        rows,
        most_expensive: most_expensive(&frame, &list.functions),
        highest_error_rate: highest_error_rate(&frame, &list.functions),
        worst_cold_starts: worst_cold_starts(&frame, &list.functions),
        broken: broken(&frame, &broken_chains),
        frame,
    };
    render_page(&page)
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
                |penalty| format!("{} each", format::ms_difference(penalty)),
            ),
            detail: format!(
                "{} cold starts ({}), costing {}{}",
                format::count(function.cold_starts),
                format::percent(function.cold_start_rate),
                function.cold_start_penalty_usd.map_or_else(
                    || "an unknown amount".to_owned(),
                    |usd| format!("{} than warm ones", format::usd_difference(usd))
                ),
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
