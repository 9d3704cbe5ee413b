//! The signals a rule can watch, and how each is read from the figures of
//! a window. Per-function figures come from the query crate's function
//! summaries (see `source.rs`), so a signal means exactly what the
//! functions API and the dashboard show.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a rule measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    ErrorRate,
    Errors,
    Invocations,
    P50Ms,
    P95Ms,
    P99Ms,
    ColdStartRate,
    ColdStartPenaltyMs,
    CostUsd,
    ProjectedMonthlyCostUsd,
    BrokenChains,
    RejectedSpans,
}

/// Which functions a rule watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One function, by name.
    Function(String),
    /// Every function separately (`group_by = "function"`).
    EachFunction,
    /// All functions together.
    All,
}

/// The comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
}

/// What a window without data means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// The condition does not hold.
    Ok,
    /// The condition holds.
    Firing,
    /// The group enters the `nodata` state.
    Nodata,
}

/// Figures of one function (or of all together) over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cold_start_penalty_ms: Option<f64>,
    /// `None`: the cost is unknown (some invocations could not be priced).
    pub cost_usd: Option<f64>,
    pub projected_monthly_cost_usd: Option<f64>,
}

/// The figures of one window: per function and the totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFigures {
    pub functions: BTreeMap<String, Figures>,
    pub total: Figures,
}

impl Signal {
    /// Every accepted name, for error messages.
    pub const NAMES: &'static str = "error_rate, errors, invocations, p50_ms, p95_ms, p99_ms, \
        cold_start_rate, cold_start_penalty_ms, cost_usd, projected_monthly_cost_usd, \
        broken_chains, rejected_spans";

    /// The signal named `name` in a rule.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// The name used in rules and notifications.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether `scope` makes sense for this signal.
    pub fn check_scope(self, scope: &Scope) -> Result<(), String> {
        match (self, scope) {
            (Self::RejectedSpans, Scope::Function(_)) => {
                Err("function: rejected_spans is Tracehouse's own, not a function's".into())
            }
            (Self::RejectedSpans, Scope::EachFunction) => {
                Err("group_by: rejected_spans is Tracehouse's own, not a function's".into())
            }
            (Self::P50Ms | Self::P95Ms | Self::P99Ms | Self::ColdStartPenaltyMs, Scope::All) => {
                Err(format!(
                "signal: {} needs function or group_by = \"function\" (percentiles do not add up)",
                self.name()
            ))
            }
            _ => Ok(()),
        }
    }

    /// Whether the signal is read from function figures.
    pub fn from_functions(self) -> bool {
        !matches!(self, Self::BrokenChains | Self::RejectedSpans)
    }

    /// The value of the signal for figures (`None`: this function had no
    /// invocations in the window). `None` means no data: counts and costs
    /// of a silent function are zero, rates and percentiles have no value.
    pub fn value(self, figures: Option<&Figures>) -> Option<f64> {
        let zero = Figures {
            cost_usd: Some(0.0),
            projected_monthly_cost_usd: Some(0.0),
            ..Figures::default()
        };
        let present = figures.is_some();
        let figures = figures.unwrap_or(&zero);
        let rate =
            |part: u64| (figures.invocations > 0).then(|| part as f64 / figures.invocations as f64);
        match self {
            Self::Invocations => Some(figures.invocations as f64),
            Self::Errors => Some(figures.errors as f64),
            Self::ErrorRate => rate(figures.errors),
            Self::ColdStartRate => rate(figures.cold_starts),
            Self::P50Ms => figures.p50_ms.filter(|_| present),
            Self::P95Ms => figures.p95_ms.filter(|_| present),
            Self::P99Ms => figures.p99_ms.filter(|_| present),
            Self::ColdStartPenaltyMs => figures.cold_start_penalty_ms.filter(|_| present),
            Self::CostUsd => figures.cost_usd,
            Self::ProjectedMonthlyCostUsd => figures.projected_monthly_cost_usd,
            // Read elsewhere; see `from_functions`.
            Self::BrokenChains | Self::RejectedSpans => None,
        }
    }
}

impl Op {
    /// The operator named `text` in a rule.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    /// Whether `value op threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Greater => value > threshold,
            Self::GreaterOrEqual => value >= threshold,
            Self::Less => value < threshold,
            Self::LessOrEqual => value <= threshold,
        }
    }

    /// The operator as written in rules.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
        }
    }
}

impl NoData {
    /// The setting named `text` in a rule.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Signal::NAMES.split(", ") {
            let signal = Signal::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(signal.name(), name);
        }
        assert_eq!(Signal::parse("eror_rate"), None);
        assert_eq!(Op::parse(">="), Some(Op::GreaterOrEqual));
        assert!(Op::Less.holds(0.0, 1.0) && !Op::Less.holds(1.0, 1.0));
    }

    #[test]
    fn a_silent_function_counts_zero_but_has_no_rate() {
        assert_eq!(Signal::Invocations.value(None), Some(0.0));
        assert_eq!(Signal::CostUsd.value(None), Some(0.0));
        assert_eq!(Signal::ErrorRate.value(None), None);
        assert_eq!(Signal::P95Ms.value(None), None);
        let figures = Figures {
            invocations: 4,
            errors: 1,
            p95_ms: Some(12.0),
            cost_usd: None,
            ..Figures::default()
        };
        assert_eq!(Signal::ErrorRate.value(Some(&figures)), Some(0.25));
        assert_eq!(Signal::P95Ms.value(Some(&figures)), Some(12.0));
        assert_eq!(
            Signal::CostUsd.value(Some(&figures)),
            None,
            "unknown cost is no data"
        );
    }
}
