//! `/functions`: one row per function (the numbers of `GET /api/v1/functions`),
//! sorted on the server by any column (`?sort=cost_usd&dir=desc`), filtered
//! by name, provider and region, with a sparkline of invocations per row.

use super::charts::{self, Svg, Unit};
use super::format;
use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, render, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::HashMap;
use tracehouse_query::serverless::FunctionSummary;

/// The page's parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionsParams {
    #[serde(flatten)]
    pub frame: FrameParams,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub region: Option<String>,
}

/// Sortable columns: parameter value and heading.
const COLUMNS: [(&str, &str); 13] = [
    ("function", "Function"),
    ("provider", "Platform"),
    ("invocations", "Invocations"),
    ("error_rate", "Errors"),
    ("cold_start_rate", "Cold starts"),
    ("p50_ms", "p50"),
    ("p95_ms", "p95"),
    ("cold_start_penalty_ms", "Cold penalty"),
    ("init_p50_ms", "Init p50"),
    ("memory_mb", "Memory"),
    ("cost_usd", "Cost"),
    ("cost_per_million_usd", "Per million"),
    ("projected_monthly_usd", "Monthly"),
];

/// A column heading that sorts by it.
pub struct Heading {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` on the sorted column.
    pub sorted: Option<&'static str>,
    /// ` ▼` or ` ▲` on the sorted column.
    pub arrow: &'static str,
    pub numeric: bool,
}

/// One function as the page shows it, numbers already formatted.
pub struct FunctionRow {
    pub function: String,
    pub href: String,
    pub platform: String,
    pub metrics_only: bool,
    pub invocations: String,
    pub errors: String,
    pub has_errors: bool,
    pub cold_starts: String,
    pub p50: String,
    pub p95: String,
    pub cold_penalty: String,
    pub init_p50: String,
    pub memory: String,
    pub cost: String,
    pub cost_note: String,
    pub per_million: String,
    pub monthly: String,
    pub sparkline: Svg,
}

#[derive(Template)]
#[template(path = "functions.html")]
struct FunctionsPage {
    frame: Frame,
    headings: Vec<Heading>,
    rows: Vec<FunctionRow>,
    total_count: usize,
    total_cost: String,
    name: String,
    provider: String,
    region: String,
    providers: Vec<String>,
    regions: Vec<String>,
}

/// The sort key of `column` for one function; text columns sort as text.
enum Key {
    Number(f64),
    Text(String),
}

fn key(summary: &FunctionSummary, column: &str) -> Key {
    let number = |value: Option<f64>| Key::Number(value.unwrap_or(f64::NEG_INFINITY));
    let duration = summary.duration_ms.as_ref();
    match column {
        "provider" => Key::Text(summary.provider.clone().unwrap_or_default()),
        "invocations" => Key::Number(summary.invocations as f64),
        "error_rate" => Key::Number(summary.error_rate),
        "cold_start_rate" => Key::Number(summary.cold_start_rate),
        "p50_ms" => number(duration.map(|d| d.p50)),
        "p95_ms" => number(duration.map(|d| d.p95)),
        "cold_start_penalty_ms" => number(summary.cold_start_penalty_ms),
        "init_p50_ms" => number(summary.init_duration_ms.as_ref().map(|init| init.p50)),
        "memory_mb" => number(summary.memory_mb.map(f64::from)),
        "cost_usd" => number(summary.cost_usd),
        "cost_per_million_usd" => number(summary.cost_per_million_invocations_usd),
        "projected_monthly_usd" => number(summary.projected_monthly_cost_usd),
        _ => Key::Text(summary.function.clone()),
    }
}

fn compare(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
        (Key::Text(a), Key::Text(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

/// Sorts by an allow-listed column (unknown ones sort by function name).
pub fn sort_functions(functions: &mut [FunctionSummary], column: &str, descending: bool) {
    functions.sort_by(|a, b| {
        let order = compare(&key(a, column), &key(b, column));
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.function.cmp(&b.function))
    });
}

fn matches(summary: &FunctionSummary, params: &FunctionsParams) -> bool {
    let name = params.name.as_deref().unwrap_or("").trim().to_lowercase();
    let wanted = |filter: &Option<String>, value: &Option<String>| match filter.as_deref() {
        None | Some("") => true,
        Some(filter) => value.as_deref() == Some(filter),
    };
    (name.is_empty() || summary.function.to_lowercase().contains(&name))
        && wanted(&params.provider, &summary.provider)
        && wanted(&params.region, &summary.region)
}

fn distinct(values: impl Iterator<Item = Option<String>>) -> Vec<String> {
    let mut values: Vec<String> = values.flatten().filter(|value| !value.is_empty()).collect();
    values.sort();
    values.dedup();
    values
}

fn row(frame: &Frame, summary: &FunctionSummary, invocations: &[f64]) -> FunctionRow {
    let duration = summary.duration_ms.as_ref();
    FunctionRow {
        href: frame.function_href(&summary.function),
        platform: [
            summary.provider.as_deref(),
            summary.region.as_deref(),
            summary.arch.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        metrics_only: summary.source == tracehouse_query::serverless::Source::Metrics,
        invocations: format::count(summary.invocations),
        errors: format!(
            "{} ({})",
            format::count(summary.errors),
            format::percent(summary.error_rate)
        ),
        has_errors: summary.errors > 0,
        cold_starts: format!(
            "{} ({})",
            format::count(summary.cold_starts),
            format::percent(summary.cold_start_rate)
        ),
        p50: format::ms(duration.map(|d| d.p50)),
        p95: format::ms(duration.map(|d| d.p95)),
        cold_penalty: format::ms(summary.cold_start_penalty_ms),
        init_p50: format::ms(summary.init_duration_ms.as_ref().map(|init| init.p50)),
        memory: summary
            .memory_mb
            .map_or_else(|| "–".to_owned(), |mb| format!("{mb} MB")),
        cost: format::usd(summary.cost_usd),
        cost_note: summary.cost_unknown_reason.clone().unwrap_or_default(),
        per_million: format::usd(summary.cost_per_million_invocations_usd),
        monthly: format::usd(summary.projected_monthly_cost_usd),
        sparkline: charts::sparkline(
            &format!("{} invocations", summary.function),
            invocations,
            Unit::Count,
        ),
        function: summary.function.clone(),
    }
}

fn headings(
    frame: &Frame,
    params: &FunctionsParams,
    column: &str,
    descending: bool,
) -> Vec<Heading> {
    COLUMNS
        .iter()
        .map(|(name, label)| {
            let current = *name == column;
            // A click on the sorted column flips it; numbers start high, names start at A.
            let next_descending = if current {
                !descending
            } else {
                *name != "function" && *name != "provider"
            };
            let dir = if next_descending { "desc" } else { "asc" };
            Heading {
                label,
                href: frame.href_with(
                    "/functions",
                    &[
                        ("sort", name),
                        ("dir", dir),
                        ("name", params.name.as_deref().unwrap_or("")),
                        ("provider", params.provider.as_deref().unwrap_or("")),
                        ("region", params.region.as_deref().unwrap_or("")),
                    ],
                ),
                sorted: current.then_some(if descending {
                    "descending"
                } else {
                    "ascending"
                }),
                arrow: match (current, descending) {
                    (false, _) => "",
                    (true, true) => " ▼",
                    (true, false) => " ▲",
                },
                numeric: *name != "function" && *name != "provider",
            }
        })
        .collect()
}

/// `GET /functions?sort=&dir=&name=&provider=&region=`.
pub async fn functions_page(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<FunctionsParams>,
) -> Response {
    let mut frame = match page_frame(
        &state,
        &scope,
        &params.frame,
        Section::Functions,
        "/functions",
    )
    .await
    {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let column = params
        .sort
        .as_deref()
        .filter(|sort| COLUMNS.iter().any(|(name, _)| name == sort))
        .unwrap_or("cost_usd");
    let descending = params
        .dir
        .as_deref()
        .map_or(column != "function", |dir| dir != "asc");
    frame.keep_params(&[
        ("sort", column),
        ("dir", if descending { "desc" } else { "asc" }),
        ("name", params.name.as_deref().unwrap_or("")),
        ("provider", params.provider.as_deref().unwrap_or("")),
        ("region", params.region.as_deref().unwrap_or("")),
    ]);
    let (list, costs) = tokio::join!(
        state.query.functions(&frame.project, &frame.window),
        state
            .query
            .cost_by_function(&frame.project, &frame.window, frame.chart_step_seconds()),
    );
    let (list, costs) = match (list, costs) {
        (Ok(list), Ok(costs)) => (list, costs),
        (Err(error), _) | (_, Err(error)) => return ErrorPage::from(error).into_page(frame),
    };
    let sparks: HashMap<&str, Vec<f64>> = costs
        .functions
        .iter()
        .map(|series| {
            (
                series.function.as_str(),
                series
                    .invocations
                    .iter()
                    .map(|count| *count as f64)
                    .collect(),
            )
        })
        .collect();
    let providers = distinct(list.functions.iter().map(|f| f.provider.clone()));
    let regions = distinct(list.functions.iter().map(|f| f.region.clone()));
    let total_count = list.functions.len();
    let mut shown: Vec<FunctionSummary> = list
        .functions
        .into_iter()
        .filter(|f| matches(f, &params))
        .collect();
    sort_functions(&mut shown, column, descending);
    let rows = shown
        .iter()
        .map(|summary| {
            row(
                &frame,
                summary,
                sparks
                    .get(summary.function.as_str())
                    .map_or(&[], Vec::as_slice),
            )
        })
        .collect();
    render(&FunctionsPage {
        headings: headings(&frame, &params, column, descending),
        rows,
        total_count,
        total_cost: format::usd(list.totals.cost_usd),
        name: params.name.clone().unwrap_or_default(),
        provider: params.provider.clone().unwrap_or_default(),
        region: params.region.clone().unwrap_or_default(),
        providers,
        regions,
        frame,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(function: &str, cost: Option<f64>, invocations: u64) -> FunctionSummary {
        FunctionSummary {
            function: function.to_owned(),
            service: function.to_owned(),
            provider: Some("aws".to_owned()),
            region: None,
            memory_mb: None,
            arch: None,
            source: tracehouse_query::serverless::Source::Spans,
            invocations,
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
            projected_monthly_cost_usd: None,
        }
    }

    #[test]
    fn sorts_by_any_column_with_unknowns_last_when_descending() {
        let mut functions = vec![
            summary("b", Some(1.0), 5),
            summary("a", None, 9),
            summary("c", Some(3.0), 1),
        ];
        sort_functions(&mut functions, "cost_usd", true);
        let order: Vec<&str> = functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        sort_functions(&mut functions, "invocations", false);
        let order: Vec<&str> = functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        sort_functions(&mut functions, "'; DROP TABLE spans", false);
        let order: Vec<&str> = functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }
}
