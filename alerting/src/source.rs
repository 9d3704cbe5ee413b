//! The one place that calls the query crate: function figures of a window
//! (one read for every function at once), broken chains, and sample
//! traces that show a problem. Re-pointing alerting at another read model
//! means changing only this file.

use crate::signal::{Figures, Signal, WindowFigures};
use std::collections::BTreeMap;
use tracehouse_model::ProjectId;
use tracehouse_query::search::TraceSearch;
use tracehouse_query::serverless::detail::InvocationOrder;
use tracehouse_query::serverless::FunctionSummary;
use tracehouse_query::{QueryError, QueryService, TimeWindow};

/// Most broken hand-offs counted per evaluation; beyond, the count is capped.
pub const BROKEN_CHAINS_LIMIT: u64 = 10_000;
/// Sample trace ids in a notification.
pub const SAMPLE_TRACES: u64 = 5;

/// `[now - window, now]`.
pub fn window_ending(now_unix_nano: u64, window: std::time::Duration) -> TimeWindow {
    let length = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    TimeWindow {
        start_unix_nano: now_unix_nano.saturating_sub(length),
        end_unix_nano: now_unix_nano,
    }
}

fn figures(summary: &FunctionSummary) -> Figures {
    Figures {
        invocations: summary.invocations,
        errors: summary.errors,
        cold_starts: summary.cold_starts,
        p50_ms: summary.duration_ms.as_ref().map(|duration| duration.p50),
        p95_ms: summary.duration_ms.as_ref().map(|duration| duration.p95),
        p99_ms: summary.duration_ms.as_ref().map(|duration| duration.p99),
        cold_start_penalty_ms: summary.cold_start_penalty_ms,
        cost_usd: summary.cost_usd,
        projected_monthly_cost_usd: summary.projected_monthly_cost_usd,
    }
}

/// Every function's figures over `window`, as `GET /api/v1/functions` computes them.
pub async fn function_figures(
    query: &QueryService,
    project: &ProjectId,
    window: TimeWindow,
) -> Result<WindowFigures, QueryError> {
    let list = query.functions(project, &window).await?;
    let functions: BTreeMap<String, Figures> = list
        .functions
        .iter()
        .map(|summary| (summary.function.clone(), figures(summary)))
        .collect();
    let total = Figures {
        invocations: list.totals.invocations,
        errors: functions.values().map(|figures| figures.errors).sum(),
        cold_starts: functions.values().map(|figures| figures.cold_starts).sum(),
        cost_usd: list.totals.cost_usd,
        projected_monthly_cost_usd: list.totals.projected_monthly_cost_usd,
        ..Figures::default()
    };
    Ok(WindowFigures { functions, total })
}

/// Broken hand-offs published in `window`, counted per service (the
/// function of the producer or failed consumer), with a few trace ids each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokenCounts {
    pub by_function: BTreeMap<String, (u64, Vec<String>)>,
    pub total: u64,
}

/// What `GET /api/v1/chains/broken` lists for `window`, counted.
pub async fn broken_chains(
    query: &QueryService,
    project: &ProjectId,
    window: TimeWindow,
) -> Result<BrokenCounts, QueryError> {
    let view = query
        .broken_chains(project, window, window.end_unix_nano, BROKEN_CHAINS_LIMIT)
        .await?;
    let mut counts = BrokenCounts::default();
    for broken in view.broken {
        let entry = counts.by_function.entry(broken.service).or_default();
        entry.0 += 1;
        if (entry.1.len() as u64) < SAMPLE_TRACES {
            entry.1.push(broken.trace_id);
        }
        counts.total += 1;
    }
    Ok(counts)
}

/// Up to [`SAMPLE_TRACES`] trace ids of `function` in `window` that show
/// the signal: failed invocations for error signals, the slowest ones for
/// latency, cold starts for cold-start signals, else the latest traces.
/// A function's samples come from the invocations its figures count, so a
/// firing notification never names fewer failures than it counted.
pub async fn sample_traces(
    query: &QueryService,
    project: &ProjectId,
    signal: Signal,
    function: &str,
    window: TimeWindow,
    min_duration_ms: Option<f64>,
) -> Result<Vec<String>, QueryError> {
    let order = match signal {
        _ if function.is_empty() => None,
        Signal::ColdStartRate | Signal::ColdStartPenaltyMs => {
            let cold = query.cold_starts(project, function, &window).await?;
            return Ok(distinct_traces(
                cold.cold_starts.into_iter().map(|start| start.trace_id),
            ));
        }
        Signal::ErrorRate | Signal::Errors => Some(InvocationOrder::RecentFailed),
        Signal::P50Ms | Signal::P95Ms | Signal::P99Ms => Some(InvocationOrder::Slowest),
        _ => None,
    };
    if let Some(order) = order {
        let invocations = query
            .function_invocations(project, function, &window, order, SAMPLE_TRACES * 4)
            .await?;
        return Ok(distinct_traces(
            invocations.into_iter().map(|row| row.trace_id),
        ));
    }
    let search = TraceSearch {
        window: Some(window),
        function: function.to_owned(),
        errors_only: matches!(signal, Signal::ErrorRate | Signal::Errors),
        min_duration_ns: min_duration_ms
            .filter(|_| matches!(signal, Signal::P50Ms | Signal::P95Ms | Signal::P99Ms))
            .map(|millis| (millis.max(0.0) * 1e6) as u64),
        limit: SAMPLE_TRACES,
        ..TraceSearch::default()
    };
    let found = query.search_traces(project, &search, window).await?;
    Ok(distinct_traces(
        found.traces.into_iter().map(|trace| trace.trace_id),
    ))
}

/// The first [`SAMPLE_TRACES`] distinct trace ids, in order.
fn distinct_traces(trace_ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for trace_id in trace_ids {
        if seen.len() as u64 == SAMPLE_TRACES {
            break;
        }
        if !seen.contains(&trace_id) {
            seen.push(trace_id);
        }
    }
    seen
}
