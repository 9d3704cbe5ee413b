//! Cold starts and cost of a chain: the invocations of its traces, read
//! with the same scope, fragment and pricing as the functions API.

use super::graph::ChainGraph;
use crate::error::QueryError;
use crate::serverless::InvocationScope;
use crate::time_window::TimeWindow;
use crate::QueryService;
use std::collections::BTreeSet;
use tracehouse_model::ProjectId;

/// What the invocation records say about a chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainInvocations {
    pub invocations: u64,
    pub cold_starts: u64,
    /// `None` when an invocation could not be priced; the reason is kept.
    pub cost_usd: Option<f64>,
    pub cost_unknown_reason: Option<String>,
}

/// The invocations of the chain: its functions and trace ids, from its
/// first span start to its last. The invocations table is sorted by
/// function and time, so the read touches a few granules.
pub fn chain_scope(project: &ProjectId, graph: &ChainGraph) -> Option<InvocationScope> {
    let functions: BTreeSet<String> = graph.spans.iter().map(|s| s.function.clone()).collect();
    let trace_ids: BTreeSet<String> = graph
        .spans
        .iter()
        .map(|s| hex::encode(s.trace_id))
        .collect();
    let starts = graph.spans.iter().map(|span| span.start_time_unix_nano);
    let window = TimeWindow {
        start_unix_nano: starts.clone().min()?,
        end_unix_nano: starts.max()?.saturating_add(1),
    };
    Some(InvocationScope::traces(
        project,
        functions.into_iter().collect(),
        trace_ids.into_iter().collect(),
        &window,
    ))
}

impl QueryService {
    /// Invocation totals of the chain's traces.
    pub(crate) async fn chain_invocations(
        &self,
        project: &ProjectId,
        graph: &ChainGraph,
    ) -> Result<ChainInvocations, QueryError> {
        let Some(scope) = chain_scope(project, graph) else {
            return Ok(ChainInvocations {
                cost_usd: Some(0.0),
                ..ChainInvocations::default()
            });
        };
        let totals = self.invocation_totals(&scope).await?;
        let cost = totals.usd();
        Ok(ChainInvocations {
            invocations: totals.invocations,
            cold_starts: totals.cold_starts,
            cost_usd: cost.as_ref().ok().copied(),
            cost_unknown_reason: cost.err(),
        })
    }
}
