//! One evaluation's reads: each distinct window is read once for all
//! rules and all functions, then every rule takes its values from there.

use crate::config::Rule;
use crate::ingest_health::{read_total, CounterSource, RejectedSamples};
use crate::signal::{Scope, Signal, WindowFigures};
use crate::source::{self, BrokenCounts};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use tracehouse_model::ProjectId;
use tracehouse_query::QueryService;

/// What one evaluation read, by window.
#[derive(Default)]
pub struct Reads {
    figures: HashMap<Duration, Result<WindowFigures, String>>,
    broken: HashMap<Duration, Result<BrokenCounts, String>>,
    rejected: Option<Result<(), String>>,
}

/// The value of each group of a rule: (function, value); function is empty
/// for a rule over all functions. `None` values mean no data.
pub type GroupValues = Vec<(String, Option<f64>)>;

impl Reads {
    /// Reads what `rules` need at `now`: one functions read per distinct
    /// window, one broken-chains read per window, one counter sample.
    pub async fn gather(
        query: &QueryService,
        project: &ProjectId,
        rules: &[Rule],
        now: u64,
        counters: &CounterSource,
        samples: &std::sync::Mutex<RejectedSamples>,
        http: &reqwest::Client,
    ) -> Self {
        let mut reads = Self::default();
        for rule in rules {
            let window = source::window_ending(now, rule.window);
            if rule.signal.from_functions() && !reads.figures.contains_key(&rule.window) {
                let figures = source::function_figures(query, project, window).await;
                reads
                    .figures
                    .insert(rule.window, figures.map_err(|e| e.to_string()));
            }
            if rule.signal == Signal::BrokenChains && !reads.broken.contains_key(&rule.window) {
                let broken = source::broken_chains(query, project, window).await;
                reads
                    .broken
                    .insert(rule.window, broken.map_err(|e| e.to_string()));
            }
        }
        let rejected_windows = rules
            .iter()
            .filter(|rule| rule.signal == Signal::RejectedSpans);
        if let Some(longest) = rejected_windows.map(|rule| rule.window).max() {
            let total = read_total(counters, http).await;
            reads.rejected = Some(total.map(|total| {
                if let Ok(mut samples) = samples.lock() {
                    samples.push(now, total, longest);
                }
            }));
        }
        reads
    }

    /// The group values of `rule`; `known` are functions it watched before.
    pub fn values(
        &self,
        rule: &Rule,
        known: &BTreeSet<String>,
        now: u64,
        samples: &std::sync::Mutex<RejectedSamples>,
    ) -> Result<GroupValues, String> {
        match rule.signal {
            Signal::BrokenChains => {
                let broken = self.broken.get(&rule.window).ok_or("not read")?.as_ref()?;
                let count = |function: &str| {
                    broken
                        .by_function
                        .get(function)
                        .map_or(0, |(count, _)| *count) as f64
                };
                Ok(groups(
                    &rule.scope,
                    broken.by_function.keys(),
                    known,
                    |function| {
                        Some(match function {
                            None => broken.total as f64,
                            Some(function) => count(function),
                        })
                    },
                ))
            }
            Signal::RejectedSpans => {
                self.rejected.as_ref().ok_or("not read")?.clone()?;
                let increase = samples
                    .lock()
                    .map_err(|_| "counter samples unavailable".to_owned())?
                    .increase(now, rule.window);
                Ok(vec![(String::new(), Some(increase))])
            }
            signal => {
                let figures = self.figures.get(&rule.window).ok_or("not read")?.as_ref()?;
                Ok(groups(
                    &rule.scope,
                    figures.functions.keys(),
                    known,
                    |function| match function {
                        None => signal.value(Some(&figures.total)),
                        Some(function) => signal.value(figures.functions.get(function)),
                    },
                ))
            }
        }
    }

    /// Trace ids kept by the broken-chains read for a group.
    pub fn broken_samples(&self, rule: &Rule, function: &str) -> Vec<String> {
        let Some(Ok(broken)) = self.broken.get(&rule.window) else {
            return Vec::new();
        };
        let iter = broken.by_function.iter();
        iter.filter(|(name, _)| function.is_empty() || name.as_str() == function)
            .flat_map(|(_, (_, traces))| traces.iter().cloned())
            .take(source::SAMPLE_TRACES as usize)
            .collect()
    }
}

/// The groups of a scope and their values: `value(None)` is the value over
/// all functions, `value(Some(f))` the value of function f.
fn groups<'a>(
    scope: &Scope,
    seen: impl Iterator<Item = &'a String>,
    known: &BTreeSet<String>,
    value: impl Fn(Option<&str>) -> Option<f64>,
) -> GroupValues {
    match scope {
        Scope::All => vec![(String::new(), value(None))],
        Scope::Function(function) => vec![(function.clone(), value(Some(function)))],
        Scope::EachFunction => {
            let mut functions: BTreeSet<String> = seen.cloned().collect();
            functions.extend(known.iter().filter(|f| !f.is_empty()).cloned());
            functions
                .into_iter()
                .map(|function| {
                    let found = value(Some(&function));
                    (function, found)
                })
                .collect()
        }
    }
}
