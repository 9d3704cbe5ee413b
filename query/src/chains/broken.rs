//! Broken chains: messages nobody consumed, and messages whose consumers
//! kept failing. Read from the `messaging_spans` index, never from `spans`.

use crate::error::QueryError;
use crate::sql::{self, Params};
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tracehouse_model::ProjectId;

/// Default time a message may wait for a consumer before it counts as lost.
pub const DEFAULT_LOST_MESSAGE_WAIT: Duration = Duration::from_secs(300);
/// Default number of failed deliveries (without a success) that make a message failed.
pub const DEFAULT_MAX_FAILED_DELIVERIES: u32 = 3;

/// When a hand-off counts as broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenChainRules {
    /// A produced message with no consumer after this long is lost.
    pub lost_message_wait: Duration,
    /// A message whose consumers failed this many times, never succeeding, failed.
    pub max_failed_deliveries: u32,
}

impl Default for BrokenChainRules {
    fn default() -> Self {
        Self {
            lost_message_wait: DEFAULT_LOST_MESSAGE_WAIT,
            max_failed_deliveries: DEFAULT_MAX_FAILED_DELIVERIES,
        }
    }
}

/// The answer of `GET /api/v1/chains/broken`.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenChainsView {
    pub broken: Vec<BrokenHandOffView>,
}

/// Why a hand-off is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokenReason {
    /// Produced, waited longer than allowed, never consumed.
    NotConsumed,
    /// Consumers failed the configured number of times, none succeeded.
    FailedAfterRetries,
}

impl BrokenReason {
    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotConsumed => "not consumed",
            Self::FailedAfterRetries => "failed after retries",
        }
    }
}

/// One broken hand-off.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenHandOffView {
    pub reason: BrokenReason,
    pub message_id: String,
    /// The producer span (not consumed) or the last failed consumer span.
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
    pub name: String,
    pub destination: String,
    pub publish_time_unix_nano: u64,
    /// From publishing until now.
    pub waited_ms: f64,
    /// Failed consumer spans seen for the message.
    pub failed_deliveries: u64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct BrokenRow {
    message_id: String,
    message_destination: String,
    produced: u64,
    linked_producers: u64,
    consumed: u64,
    failed_deliveries: u64,
    published_unix_nano: u64,
    broken_trace_id: [u8; 16],
    broken_span_id: [u8; 8],
    broken_service: String,
    broken_name: String,
}

/// The binds of `chains_broken.sql`.
fn broken_params(
    project: &ProjectId,
    window: &TimeWindow,
    now_unix_nano: u64,
    rules: &BrokenChainRules,
    limit: u64,
) -> Params {
    let wait_nanos = u64::try_from(rules.lost_message_wait.as_nanos()).unwrap_or(u64::MAX);
    Params::new()
        .set("project", project.as_str())
        .set("since_s", window.start_seconds())
        .set("from_ns", window.start_unix_nano)
        .set("to_ns", window.end_unix_nano)
        .set("lost_before_ns", now_unix_nano.saturating_sub(wait_nanos))
        .set(
            "max_failed_deliveries",
            u64::from(rules.max_failed_deliveries),
        )
        .set("limit", limit)
}

impl QueryService {
    /// Broken hand-offs published in `window`, newest first, at most `limit`.
    pub async fn broken_chains(
        &self,
        project: &ProjectId,
        window: TimeWindow,
        now_unix_nano: u64,
        limit: u64,
    ) -> Result<BrokenChainsView, QueryError> {
        let rules = self.broken_chain_rules();
        let params = broken_params(project, &window, now_unix_nano, &rules, limit);
        let rows: Vec<BrokenRow> = self.fetch(&sql::CHAINS_BROKEN, &params).await?;
        let broken = rows
            .into_iter()
            .map(|row| {
                let not_consumed =
                    row.produced > 0 && row.consumed == 0 && row.linked_producers == 0;
                BrokenHandOffView {
                    reason: if not_consumed {
                        BrokenReason::NotConsumed
                    } else {
                        BrokenReason::FailedAfterRetries
                    },
                    message_id: row.message_id,
                    trace_id: hex::encode(row.broken_trace_id),
                    span_id: hex::encode(row.broken_span_id),
                    service: row.broken_service,
                    name: row.broken_name,
                    destination: row.message_destination,
                    publish_time_unix_nano: row.published_unix_nano,
                    waited_ms: now_unix_nano.saturating_sub(row.published_unix_nano) as f64
                        / 1_000_000.0,
                    failed_deliveries: row.failed_deliveries,
                }
            })
            .collect();
        Ok(BrokenChainsView { broken })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_what_the_template_declares() {
        let window = TimeWindow {
            start_unix_nano: 0,
            end_unix_nano: 1,
        };
        let rules = BrokenChainRules::default();
        let params = broken_params(&ProjectId::default(), &window, 2, &rules, 100);
        assert_eq!(sql::CHAINS_BROKEN.check(&params), Ok(()));
    }
}
