//! Errors of the read side. The web crate maps them to HTTP once.

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A parameter is malformed; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// A template and its bound values disagree (a bug, caught by the
    /// template tests); details are logged, not returned.
    #[error("query template error")]
    Template(String),
    /// ClickHouse failed; details are logged, not returned.
    #[error("storage query failed")]
    Storage(#[source] clickhouse::error::Error),
}

impl From<clickhouse::error::Error> for QueryError {
    fn from(error: clickhouse::error::Error) -> Self {
        Self::Storage(error)
    }
}
