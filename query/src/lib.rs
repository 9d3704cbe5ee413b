//! The read side of Tracehouse: typed queries over the ClickHouse schema.
//!
//! Every query is a template in `query/sql/*.sql`; input reaches it only
//! through the clickhouse crate's `bind()`. Results are plain serializable
//! structs that the web crate returns as JSON or renders.

pub mod error;
pub mod health;
pub mod sql;
pub mod traces;

pub use error::QueryError;
pub use health::Readiness;
pub use traces::{SpanView, TraceView};

use clickhouse::Client;

/// Entry point of the read side; cheap to clone.
#[derive(Clone)]
pub struct QueryService {
    client: Client,
}

impl QueryService {
    /// A query service reading through `client` (bound to the database).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
