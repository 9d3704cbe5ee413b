//! Cold starts and cost of a chain, from the invocation records of its
//! traces: the same cold-start rule and billing units as the functions
//! API, priced with the same catalog.

use super::graph::ChainGraph;
use crate::error::QueryError;
use crate::pricing::{BillingUnits, GroupTraits};
use crate::sql;
use crate::QueryService;
use serde::Deserialize;
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

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct InvocationGroupRow {
    function: String,
    provider: String,
    region: String,
    arch: String,
    memory_mb: u32,
    invocations: u64,
    cold_starts: u64,
    billed_ms_aws: u64,
    billed_ms_azure: u64,
    billed_ms_gcp: u64,
}

impl QueryService {
    /// Invocation records of the chain's traces. The invocations table is
    /// sorted by function and time, so the lookup names the chain's
    /// functions and time range and reads a few granules, then keeps the
    /// chain's trace ids.
    pub(crate) async fn chain_invocations(
        &self,
        project: &ProjectId,
        graph: &ChainGraph,
    ) -> Result<ChainInvocations, QueryError> {
        let functions: Vec<String> = graph
            .spans
            .iter()
            .map(|span| span.function.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let trace_ids: Vec<String> = graph
            .spans
            .iter()
            .map(|span| hex::encode(span.trace_id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if functions.is_empty() {
            return Ok(ChainInvocations {
                cost_usd: Some(0.0),
                ..ChainInvocations::default()
            });
        }
        let seconds = |nanos: u64| u32::try_from(nanos / 1_000_000_000).unwrap_or(u32::MAX);
        let first_start = graph
            .spans
            .iter()
            .map(|span| span.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let last_start = graph
            .spans
            .iter()
            .map(|span| span.start_time_unix_nano)
            .max()
            .unwrap_or(0);
        let (from, to) = (seconds(first_start), seconds(last_start).saturating_add(1));
        let rows: Vec<InvocationGroupRow> = self
            .client()
            .query(sql::CHAIN_INVOCATIONS)
            .bind(project.as_str())
            .bind(&functions)
            .bind(from)
            .bind(to)
            .bind(&trace_ids)
            .bind(project.as_str())
            .bind(&functions)
            .bind(project.as_str())
            .bind(project.as_str())
            .bind(&functions)
            .bind(from)
            .bind(to)
            .bind(&trace_ids)
            .fetch_all()
            .await?;
        let mut totals = ChainInvocations {
            cost_usd: Some(0.0),
            ..ChainInvocations::default()
        };
        for row in rows {
            totals.invocations += row.invocations;
            totals.cold_starts += row.cold_starts;
            let traits = GroupTraits {
                function: &row.function,
                provider: &row.provider,
                region: &row.region,
                arch: &row.arch,
                memory_mb: row.memory_mb,
            };
            let units = BillingUnits {
                invocations: row.invocations,
                billed_ms_aws: row.billed_ms_aws,
                billed_ms_azure: row.billed_ms_azure,
                billed_ms_gcp: row.billed_ms_gcp,
            };
            match self.pricing.price(&traits, &units) {
                Ok(cost) => {
                    if let Some(sum) = totals.cost_usd.as_mut() {
                        *sum += cost.usd;
                    }
                }
                Err(reason) => {
                    totals.cost_usd = None;
                    totals.cost_unknown_reason.get_or_insert(reason);
                }
            }
        }
        Ok(totals)
    }
}
