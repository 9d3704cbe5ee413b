//! The `/alerts` page: rules and their states, recent transitions,
//! deliveries and silences (the same data as `/api/v1/alerts/*`).

use super::frame::{Frame, FrameParams, Section};
use super::{page_frame, render};
use crate::access::Scope;
use crate::api::alerts::AlertsState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use tracehouse_alerting::ids::{now_unix_nano, rfc3339};

/// Rows of each listing on the page.
const PAGE_ROWS: u64 = 50;

/// One rule group as the page shows it.
struct GroupLine {
    rule: String,
    function: String,
    state: String,
    since: String,
    value: String,
    detail: String,
}

struct HistoryLine {
    time: String,
    rule: String,
    function: String,
    change: String,
    message: String,
}

struct DeliveryLine {
    time: String,
    rule: String,
    receiver: String,
    status: String,
    attempt: u32,
    outcome: String,
    http_status: String,
    latency_ms: String,
    error: String,
    delivery_id: String,
}

struct SilenceLine {
    matchers: String,
    starts_at: String,
    ends_at: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    frame: Frame,
    evaluator: bool,
    /// Runs the alerts role, but another process holds the lease.
    standby: bool,
    problems: Vec<String>,
    groups: Vec<GroupLine>,
    history: Vec<HistoryLine>,
    deliveries: Vec<DeliveryLine>,
    silences: Vec<SilenceLine>,
    errors: Vec<String>,
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "no data".to_owned(), |value| format!("{value:.4}"))
}

fn engine_groups(snapshot: &tracehouse_alerting::Snapshot) -> Vec<GroupLine> {
    let mut lines = Vec::new();
    for rule in &snapshot.rules {
        let detail = format!(
            "{} {} {} over {}",
            rule.rule.signal.name(),
            rule.rule.op.symbol(),
            rule.rule.threshold,
            tracehouse_alerting::config::format_duration(rule.rule.window)
        );
        if rule.groups.is_empty() || rule.error.is_some() {
            lines.push(GroupLine {
                rule: rule.rule.name.clone(),
                function: String::new(),
                state: rule.state.as_str().to_owned(),
                since: rule.last_evaluation.clone().unwrap_or_default(),
                value: String::new(),
                detail: rule.error.clone().unwrap_or_else(|| detail.clone()),
            });
        }
        for group in &rule.groups {
            lines.push(GroupLine {
                rule: rule.rule.name.clone(),
                function: group.function.clone().unwrap_or_default(),
                state: group.state.as_str().to_owned(),
                since: group.since.clone(),
                value: number(group.value),
                detail: detail.clone(),
            });
        }
    }
    lines
}

async fn stored_groups(state: &AlertsState, errors: &mut Vec<String>) -> Vec<GroupLine> {
    match state.store.group_states().await {
        Ok(groups) => groups
            .into_iter()
            .map(|group| GroupLine {
                rule: group.rule,
                function: group.last_function,
                state: group.last_state,
                since: rfc3339(group.last_since),
                value: number((group.last_has_value == 1).then_some(group.last_value)),
                detail: group.last_message,
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "alerts page: reading states failed");
            errors.push("rule states are unavailable".to_owned());
            Vec::new()
        }
    }
}

/// `GET /alerts`.
pub async fn alerts_page(
    State(state): State<AlertsState>,
    scope: Scope,
    Query(params): Query<FrameParams>,
) -> Response {
    let frame = match page_frame(&state.app, &scope, &params, Section::Alerts, "/alerts").await {
        Ok(frame) => frame,
        Err(page) => return page,
    };
    let mut errors = Vec::new();
    let (groups, problems) = match state.evaluator() {
        Some(engine) => {
            let snapshot = engine.snapshot();
            let problems = snapshot.problems.iter().map(ToString::to_string).collect();
            (engine_groups(&snapshot), problems)
        }
        None => (stored_groups(&state, &mut errors).await, Vec::new()),
    };
    let history = match state.store.history("", PAGE_ROWS).await {
        Ok(rows) => rows
            .into_iter()
            .map(|row| HistoryLine {
                time: rfc3339(row.time_unix_nano),
                rule: row.rule,
                function: row.function,
                change: format!("{} → {}", row.from_state, row.to_state),
                message: row.message,
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "alerts page: reading history failed");
            errors.push("history is unavailable".to_owned());
            Vec::new()
        }
    };
    let deliveries = match state.store.deliveries("", PAGE_ROWS).await {
        Ok(rows) => rows
            .into_iter()
            .map(|row| DeliveryLine {
                time: rfc3339(row.time_unix_nano),
                rule: row.rule,
                receiver: row.receiver,
                status: row.status,
                attempt: row.attempt,
                outcome: row.outcome,
                http_status: if row.http_status == 0 {
                    String::new()
                } else {
                    row.http_status.to_string()
                },
                latency_ms: format!("{:.0}", row.latency_ms),
                error: row.error,
                delivery_id: row.delivery_id,
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "alerts page: reading deliveries failed");
            errors.push("deliveries are unavailable".to_owned());
            Vec::new()
        }
    };
    let silences = match state.store.silences(now_unix_nano()).await {
        Ok(rows) => rows
            .into_iter()
            .map(|row| {
                let mut matchers = Vec::new();
                if !row.rule.is_empty() {
                    matchers.push(format!("rule={}", row.rule));
                }
                if !row.function.is_empty() {
                    matchers.push(format!("function={}", row.function));
                }
                for (key, value) in row.label_keys.iter().zip(&row.label_values) {
                    matchers.push(format!("{key}={value}"));
                }
                SilenceLine {
                    matchers: matchers.join(", "),
                    starts_at: rfc3339(row.starts_at_unix_nano),
                    ends_at: rfc3339(row.ends_at_unix_nano),
                    comment: row.comment,
                }
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "alerts page: reading silences failed");
            errors.push("silences are unavailable".to_owned());
            Vec::new()
        }
    };
    render(&AlertsPage {
        frame,
        evaluator: state.evaluator().is_some(),
        standby: state.engine.is_some() && state.evaluator().is_none(),
        problems,
        groups,
        history,
        deliveries,
        silences,
        errors,
    })
}
