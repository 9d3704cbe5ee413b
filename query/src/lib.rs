//! The read side of Tracehouse: typed queries over the ClickHouse schema.
//!
//! Every query is a template in `query/sql/*.sql`; input reaches it only
//! through the clickhouse crate's `bind()`. Results are plain serializable
//! structs that the web crate returns as JSON or renders.

pub mod chains;
pub mod error;
pub mod health;
pub mod map;
pub mod search;
pub mod services;
pub mod sql;
pub mod time_window;
pub mod traces;

pub use chains::broken::BrokenChainRules;
pub use chains::ChainLimits;
pub use error::QueryError;
pub use health::Readiness;
pub use time_window::TimeWindow;
pub use traces::{SpanView, TraceView};

use clickhouse::Client;

/// Entry point of the read side; cheap to clone.
#[derive(Clone)]
pub struct QueryService {
    client: Client,
    chain_limits: ChainLimits,
    broken_chain_rules: BrokenChainRules,
}

impl QueryService {
    /// A query service reading through `client` (bound to the database).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            chain_limits: ChainLimits::default(),
            broken_chain_rules: BrokenChainRules::default(),
        }
    }

    /// The same service with other chain bounds and broken-chain rules.
    pub fn with_chain_settings(mut self, limits: ChainLimits, rules: BrokenChainRules) -> Self {
        self.chain_limits = limits;
        self.broken_chain_rules = rules;
        self
    }

    /// Bounds of one chain query.
    pub fn chain_limits(&self) -> ChainLimits {
        self.chain_limits
    }

    /// When a hand-off counts as broken.
    pub fn broken_chain_rules(&self) -> BrokenChainRules {
        self.broken_chain_rules
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
