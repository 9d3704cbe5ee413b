//! The read side of Tracehouse: typed queries over the ClickHouse schema.
//!
//! Every query is a template in `query/sql/*.sql`; input reaches it only
//! through the clickhouse crate's `bind()`. Results are plain serializable
//! structs that the web crate returns as JSON or renders.

pub mod error;
pub mod faas_metrics;
pub mod functions;
pub mod health;
pub mod pricing;
pub mod sql;
pub mod time_window;
pub mod traces;

pub use error::QueryError;
pub use health::Readiness;
pub use pricing::Pricing;
pub use time_window::TimeWindow;
pub use traces::{SpanView, TraceView};

use clickhouse::Client;

/// Entry point of the read side; cheap to clone.
#[derive(Clone)]
pub struct QueryService {
    client: Client,
    pricing: std::sync::Arc<Pricing>,
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
        }
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

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
