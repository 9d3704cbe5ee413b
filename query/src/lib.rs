//! The read side of Tracehouse: typed queries over the ClickHouse schema.
//!
//! Every query is a template in `query/sql/*.sql` with named placeholders
//! (see [`sql`]); input reaches it only through the clickhouse crate's
//! `bind()`. Results are plain serializable structs that the web crate
//! returns as JSON or renders. Functions, cold starts and costs live in
//! [`serverless`].

pub mod chains;
pub mod error;
pub mod health;
pub mod limits;
pub mod map;
pub mod panels;
pub mod pricing;
pub mod search;
pub mod serverless;
pub mod services;
pub mod sql;
pub mod time_window;
pub mod traces;

pub use chains::broken::BrokenChainRules;
pub use chains::ChainLimits;
pub use error::{QueryError, StorageLimit};
pub use health::Readiness;
pub use limits::QueryLimits;
pub use pricing::Pricing;
pub use serverless::{SettleOptions, Settler};
pub use time_window::TimeWindow;
pub use traces::{SpanView, TraceView};

use clickhouse::Client;

/// Entry point of the read side; cheap to clone.
#[derive(Clone)]
pub struct QueryService {
    client: Client,
    pricing: std::sync::Arc<Pricing>,
    chain_limits: ChainLimits,
    broken_chain_rules: BrokenChainRules,
    limits: QueryLimits,
}

impl QueryService {
    /// A query service reading through `client` (bound to the database).
    /// Costs use the shipped pricing catalog until [`Self::with_pricing`].
    pub fn new(client: Client) -> Self {
        let pricing = Pricing::shipped().unwrap_or_else(|error| {
            // A unit test parses the shipped catalog, so this is not expected.
            tracing::error!(%error, "shipped pricing catalog is invalid");
            Pricing {
                unavailable: Some(format!("pricing catalog unavailable: {error}")),
                ..Pricing::default()
            }
        });
        Self {
            client,
            pricing: std::sync::Arc::new(pricing),
            chain_limits: ChainLimits::default(),
            broken_chain_rules: BrokenChainRules::default(),
            limits: QueryLimits::default(),
        }
        .with_limits(QueryLimits::default())
    }

    /// Uses `pricing` for costs.
    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = std::sync::Arc::new(pricing);
        self
    }

    /// The pricing in use.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
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

    /// The same service bounded by `limits`: windows are checked against
    /// them and every query carries their ClickHouse settings.
    pub fn with_limits(mut self, limits: QueryLimits) -> Self {
        self.client = limits.apply(self.client);
        self.limits = limits;
        self
    }

    /// The same service reading through `client`, with the same bounds
    /// (the alert engine reads and writes through the writer's client).
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = self.limits.apply(client);
        self
    }

    /// The bounds of every read.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every row of `template` bound with `params`.
    pub async fn fetch<T>(
        &self,
        template: &sql::Template,
        params: &sql::Params,
    ) -> Result<Vec<T>, QueryError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let query = template.query(self.client(), params)?;
        Ok(query.fetch_all().await?)
    }
}
