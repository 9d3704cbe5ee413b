//! Errors of the schema crate.

use std::path::PathBuf;

/// What went wrong while talking to, migrating or running ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A query failed.
    #[error("clickhouse query failed: {context}: {source}")]
    Query {
        context: String,
        #[source]
        source: clickhouse::error::Error,
    },
    /// The database name is not a plain identifier.
    #[error("database name {0:?} must be letters, digits and '_' and not start with a digit")]
    InvalidDatabaseName(String),
    /// The cluster name is not a plain identifier.
    #[error("cluster name {0:?} must be letters, digits and '_' and not start with a digit")]
    InvalidClusterName(String),
    /// A migration statement has no rendering for a cluster.
    #[error("no cluster rendering for the statement starting {0:?}")]
    UnsupportedForCluster(String),
    /// No ClickHouse binary was found for managed mode.
    #[error(
        "no ClickHouse server found on PATH: install one (Debian: apt-get install clickhouse-server) \
         or pass --clickhouse-url to use an existing server"
    )]
    ClickHouseNotFound,
    /// The configured ClickHouse binary does not exist.
    #[error(
        "clickhouse binary {0} does not exist: install ClickHouse (Debian: apt-get install clickhouse-server) \
         or pass --clickhouse-url to use an existing server"
    )]
    ClickHouseBinaryMissing(PathBuf),
    /// The managed server could not be started or did not come up.
    #[error("managed clickhouse: {0}")]
    Managed(String),
    /// ClickHouse answered something that cannot be (a malformed value).
    #[error("clickhouse answered unexpectedly: {0}")]
    UnexpectedAnswer(String),
    /// A file under the data directory could not be written or read.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SchemaError {
    /// Wraps a clickhouse crate error with what was being done.
    pub fn query(context: impl Into<String>) -> impl FnOnce(clickhouse::error::Error) -> Self {
        let context = context.into();
        move |source| Self::Query { context, source }
    }
}

/// The `Code: N` of a ClickHouse error message.
pub fn clickhouse_error_code(message: &str) -> Option<u32> {
    let start = message.find("Code: ")? + "Code: ".len();
    let digits: String = message
        .get(start..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
