//! `/functions/{name}`: one function. Its charts over time and cold against
//! warm latency are the panels of `dashboards/function.yaml`; the page adds
//! what its cold starts cost, its versions side by side (which deploy made
//! it slower), and its failed, slowest and cold invocations, each linking
//! to its trace.

use super::declared::page::refused;
use super::declared::render::{self, RowView};
use super::declared::spec::Dashboard;
use super::format::{self, Change};
use super::frame::{encode, Frame, FrameParams, Section};
use super::{page_frame, render as render_page, ErrorPage};
use crate::access::Scope;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tracehouse_query::panels::PanelReads;
use tracehouse_query::serverless::detail::{
    InvocationOrder, InvocationView, ReportMemory, VersionStats,
};
use tracehouse_query::serverless::{ColdStarts, FunctionSummary};
use tracehouse_query::QueryError;

/// Rows of each invocation list.
const LIST_LENGTH: u64 = 10;

/// A labelled figure.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// One invocation of a list, linking to its trace.
pub struct InvocationRow {
    pub href: String,
    pub started: String,
    pub duration: String,
    pub is_error: bool,
    pub cold_start: bool,
    pub init: String,
    pub instance: String,
}

/// One version, with the change from the one before.
pub struct VersionRow {
    pub version: String,
    pub first_seen: String,
    pub invocations: String,
    pub error_rate: String,
    pub p95: String,
    pub cold_start_rate: String,
    pub per_million: String,
    pub cost_note: String,
    pub p95_change: Option<Change>,
    pub error_change: Option<Change>,
    pub cost_change: Option<Change>,
}

#[derive(Template)]
#[template(path = "function.html")]
struct FunctionPage {
    frame: Frame,
    name: String,
    traces_href: String,
    facts: Vec<Fact>,
    cold_story: String,
    /// The panels of `dashboards/function.yaml`.
    rows: Vec<RowView>,
    versions: Vec<VersionRow>,
    failed: Vec<InvocationRow>,
    slowest: Vec<InvocationRow>,
    cold: Vec<InvocationRow>,
}

struct FunctionData {
    summary: FunctionSummary,
    rows: Vec<RowView>,
    cold: ColdStarts,
    versions: Vec<VersionStats>,
    failed: Vec<InvocationView>,
    slowest: Vec<InvocationView>,
    memory: Option<ReportMemory>,
}

/// The page's own reads and its panels, all at once.
async fn read(
    state: &AppState,
    frame: &Frame,
    dashboard: &Dashboard,
    name: &str,
) -> Result<FunctionData, QueryError> {
    let (project, window) = (&frame.project, &frame.window);
    let query = &state.query;
    let reads: PanelReads<'_> = render::reads(query, frame);
    let (summary, rows, cold, versions, failed, slowest, memory) = tokio::join!(
        reads.function_summary(name),
        render::draw(&reads, frame, dashboard, Some(name)),
        reads.cold_starts(name),
        query.function_versions(project, name, window),
        query.function_invocations(
            project,
            name,
            window,
            InvocationOrder::RecentFailed,
            LIST_LENGTH
        ),
        query.function_invocations(project, name, window, InvocationOrder::Slowest, LIST_LENGTH),
        query.function_report_memory(project, name, window),
    );
    Ok(FunctionData {
        summary: summary?,
        rows: rows?,
        cold: cold?,
        versions: versions?,
        failed: failed?,
        slowest: slowest?,
        memory: memory?,
    })
}

/// `GET /functions/{name}`; 404 with a page for a function without invocations in the range.
pub async fn function_page(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    Query(params): Query<FrameParams>,
) -> Response {
    let path = format!("/functions/{}", encode(&name));
    let frame = match page_frame(&state, &scope, &params, Section::Functions, &path).await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let dashboard = match state.dashboards.function() {
        Ok(dashboard) => dashboard,
        Err(error) => return refused(error).into_page(frame),
    };
    let data = match read(&state, &frame, dashboard, &name).await {
        Ok(data) => data,
        Err(QueryError::NotFound(_)) => {
            return ErrorPage {
                status: StatusCode::NOT_FOUND,
                title: "Function not found",
                message: format!(
                    "No invocations of function \"{name}\" in project {} between {}. Try a wider time range or pick one from the function list.",
                    frame.project,
                    frame.describe_range()
                ),
            }
            .into_page(frame)
        }
        Err(error) => return ErrorPage::from(error).into_page(frame),
    };
    render_page(&FunctionPage {
        traces_href: frame.href_with("/traces", &[("function", &name)]),
        facts: facts(&data.summary, data.memory.as_ref()),
        cold_story: cold_story(&data.summary),
        rows: data.rows,
        versions: versions(&data.versions),
        failed: invocation_rows(&frame, &data.failed),
        slowest: invocation_rows(&frame, &data.slowest),
        cold: cold_rows(&frame, &data.cold),
        name,
        frame,
    })
}

fn facts(summary: &FunctionSummary, memory: Option<&ReportMemory>) -> Vec<Fact> {
    let duration = summary.duration_ms.as_ref();
    let known = |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".to_owned());
    let mut facts = vec![
        Fact {
            label: "Provider",
            value: known(&summary.provider),
        },
        Fact {
            label: "Region",
            value: known(&summary.region),
        },
        Fact {
            label: "Architecture",
            value: known(&summary.arch),
        },
        Fact {
            label: "Memory",
            value: summary
                .memory_mb
                .map_or_else(|| "unknown".to_owned(), |mb| format!("{mb} MB")),
        },
        Fact {
            label: "Invocations",
            value: format::count(summary.invocations),
        },
        Fact {
            label: "Errors",
            value: format!(
                "{} ({})",
                format::count(summary.errors),
                format::percent(summary.error_rate)
            ),
        },
        Fact {
            label: "p50",
            value: format::ms(duration.map(|d| d.p50)),
        },
        Fact {
            label: "p95",
            value: format::ms(duration.map(|d| d.p95)),
        },
        Fact {
            label: "p99",
            value: format::ms(duration.map(|d| d.p99)),
        },
        Fact {
            label: "Init p50 / p95",
            value: summary.init_duration_ms.as_ref().map_or_else(
                || "no init durations reported".to_owned(),
                |init| {
                    format!(
                        "{} / {}",
                        format::ms(Some(init.p50)),
                        format::ms(Some(init.p95))
                    )
                },
            ),
        },
        Fact {
            label: "Cost",
            value: format::usd(summary.cost_usd),
        },
        Fact {
            label: "Per million invocations",
            value: format::usd(summary.cost_per_million_invocations_usd),
        },
        Fact {
            label: "Projected monthly",
            value: format::usd(summary.projected_monthly_cost_usd),
        },
    ];
    if let Some(memory) = memory {
        facts.push(Fact {
            label: "Max memory used",
            value: format!(
                "{} MB of {} MB ({} REPORT lines)",
                memory.max_memory_used_mb, memory.memory_size_mb, memory.reports
            ),
        });
    }
    if let Some(reason) = &summary.cost_unknown_reason {
        facts.push(Fact {
            label: "Why the cost is unknown",
            value: reason.clone(),
        });
    }
    facts
}

/// Why the cold starts hurt, in one sentence.
fn cold_story(summary: &FunctionSummary) -> String {
    if summary.cold_starts == 0 {
        return "No cold starts in this time range.".to_owned();
    }
    let mut story = format!(
        "{} of {} invocations ({}) were cold starts.",
        format::count(summary.cold_starts),
        format::count(summary.invocations),
        format::percent(summary.cold_start_rate)
    );
    if let (Some(cold), Some(warm), Some(penalty)) = (
        summary.cold_p50_ms,
        summary.warm_p50_ms,
        summary.cold_start_penalty_ms,
    ) {
        story.push_str(&format!(
            " A cold invocation takes {} at p50 against {} warm: {} each.",
            format::ms(Some(cold)),
            format::ms(Some(warm)),
            format::ms_difference(penalty)
        ));
    }
    if let Some(init) = &summary.init_duration_ms {
        story.push_str(&format!(
            " Initialisation alone takes {} at p50 ({} at p95).",
            format::ms(Some(init.p50)),
            format::ms(Some(init.p95))
        ));
    }
    if let Some(usd) = summary.cold_start_penalty_usd {
        story.push_str(&format!(
            " Cold starts cost {} than as many average warm invocations would.",
            format::usd_difference(usd)
        ));
        if medians_and_cost_disagree(summary.cold_start_penalty_ms, usd) {
            story.push_str(
                " (The p50s compare typical invocations; the cost compares every invocation, \
                 so long warm invocations can outweigh slower cold starts.)",
            );
        }
    }
    story
}

/// Whether the p50 penalty (when there is one) and the cost penalty point
/// in opposite directions: medians against means.
fn medians_and_cost_disagree(penalty_ms: Option<f64>, penalty_usd: f64) -> bool {
    penalty_ms.is_some_and(|ms| (ms > 0.0) != (penalty_usd > 0.0))
}

fn versions(stats: &[VersionStats]) -> Vec<VersionRow> {
    let rate = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    stats
        .iter()
        .enumerate()
        .map(|(index, version)| {
            let previous = index.checked_sub(1).and_then(|before| stats.get(before));
            let p95_change = previous
                .and_then(|before| Some(format::change(version.p95_ms?, before.p95_ms?, true)));
            let error_change = previous.map(|before| {
                format::change(
                    rate(version.errors, version.invocations),
                    rate(before.errors, before.invocations),
                    true,
                )
            });
            let cost_change = previous.and_then(|before| {
                Some(format::change(
                    version.cost_per_million_invocations_usd?,
                    before.cost_per_million_invocations_usd?,
                    true,
                ))
            });
            VersionRow {
                version: if version.version.is_empty() {
                    "(none)".to_owned()
                } else {
                    version.version.clone()
                },
                first_seen: format::instant(version.first_start_unix_nano),
                invocations: format::count(version.invocations),
                error_rate: format::percent(rate(version.errors, version.invocations)),
                p95: format::ms(version.p95_ms),
                cold_start_rate: format::percent(rate(version.cold_starts, version.invocations)),
                per_million: format::usd(version.cost_per_million_invocations_usd),
                cost_note: version.cost_unknown_reason.clone().unwrap_or_default(),
                p95_change,
                error_change,
                cost_change,
            }
        })
        .collect()
}

fn invocation_rows(frame: &Frame, invocations: &[InvocationView]) -> Vec<InvocationRow> {
    invocations
        .iter()
        .map(|invocation| InvocationRow {
            href: frame.span_href(&invocation.trace_id, &invocation.span_id),
            started: format::instant(invocation.start_time_unix_nano),
            duration: format::ms(Some(invocation.duration_ms)),
            is_error: invocation.is_error,
            cold_start: invocation.cold_start,
            init: format::ms(invocation.init_duration_ms),
            instance: invocation.instance.clone(),
        })
        .collect()
}

fn cold_rows(frame: &Frame, cold: &ColdStarts) -> Vec<InvocationRow> {
    let starts: Vec<InvocationView> = cold
        .cold_starts
        .iter()
        .take(LIST_LENGTH as usize)
        .map(|start| InvocationView {
            trace_id: start.trace_id.clone(),
            span_id: start.span_id.clone(),
            instance: start.instance.clone(),
            start_time_unix_nano: start.start_time_unix_nano,
            duration_ms: start.duration_ms,
            is_error: false,
            cold_start: true,
            init_duration_ms: start.init_duration_ms,
        })
        .collect();
    invocation_rows(frame, &starts)
}

#[cfg(test)]
mod tests {
    use super::medians_and_cost_disagree;

    /// Only a p50 penalty and a cost penalty of opposite signs disagree; no
    /// p50 penalty leaves nothing to explain.
    #[test]
    fn the_explanation_needs_both_penalties_pointing_apart() {
        assert!(medians_and_cost_disagree(Some(280.0), -0.000_015));
        assert!(medians_and_cost_disagree(Some(-5.0), 0.002));
        assert!(!medians_and_cost_disagree(Some(280.0), 0.002));
        assert!(!medians_and_cost_disagree(Some(-5.0), -0.002));
        assert!(!medians_and_cost_disagree(None, 0.002));
        assert!(!medians_and_cost_disagree(None, -0.002));
    }
}
