//! Two reads of one scope that must count the same invocations: the
//! counts (statistics or time-series rows) and the billing groups that
//! price them. ClickHouse gives no snapshot across queries, so spans that
//! become visible between the two would be counted and not priced, or
//! priced and not counted. [`agreeing`] reads the pair again while the
//! two disagree.

use super::cost::BillingGroupRow;
use super::from_spans::TimeseriesRow;
use super::service::FunctionRows;
use crate::error::QueryError;
use std::future::Future;

/// How often a pair is read at most; the last pair is answered as it is.
pub const READ_ATTEMPTS: u32 = 3;

/// A read of a scope that counts its invocations.
pub trait CountsInvocations {
    /// The invocations this read saw.
    fn invocations(&self) -> u64;
}

impl CountsInvocations for Vec<BillingGroupRow> {
    fn invocations(&self) -> u64 {
        self.iter().map(|group| group.invocations).sum()
    }
}

impl CountsInvocations for Vec<TimeseriesRow> {
    fn invocations(&self) -> u64 {
        self.iter().map(|row| row.invocations).sum()
    }
}

impl CountsInvocations for FunctionRows {
    fn invocations(&self) -> u64 {
        self.span_invocations()
    }
}

/// Reads `counts` and `groups` concurrently, again while they count
/// different invocations, at most [`READ_ATTEMPTS`] times.
pub async fn agreeing<C, G, FC, FG>(
    mut counts: impl FnMut() -> FC,
    mut groups: impl FnMut() -> FG,
) -> Result<(C, G), QueryError>
where
    C: CountsInvocations,
    G: CountsInvocations,
    FC: Future<Output = Result<C, QueryError>>,
    FG: Future<Output = Result<G, QueryError>>,
{
    let mut attempt = 1;
    loop {
        let (counted, priced) = futures::future::try_join(counts(), groups()).await?;
        if counted.invocations() == priced.invocations() || attempt == READ_ATTEMPTS {
            return Ok((counted, priced));
        }
        tracing::debug!(
            counted = counted.invocations(),
            priced = priced.invocations(),
            attempt,
            "counts and billing groups disagree: read again"
        );
        attempt += 1;
    }
}
