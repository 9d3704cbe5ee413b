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

/// A ClickHouse refusal that a query's bounds ([`crate::QueryLimits`]) or
/// the server's load caused, as opposed to storage being down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageLimit {
    /// `max_rows_to_read` or `max_result_rows` was reached.
    TooManyRows,
    /// `max_execution_time` was reached (or the query would take longer).
    TooSlow,
    /// The server ran out of query memory.
    OutOfMemory,
    /// The server runs too many queries at once.
    TooManyQueries,
}

/// ClickHouse error codes of [`StorageLimit`].
const STORAGE_LIMIT_CODES: &[(u32, StorageLimit)] = &[
    (158, StorageLimit::TooManyRows),    // TOO_MANY_ROWS
    (396, StorageLimit::TooManyRows),    // TOO_MANY_ROWS_OR_BYTES
    (159, StorageLimit::TooSlow),        // TIMEOUT_EXCEEDED
    (160, StorageLimit::TooSlow),        // TOO_SLOW
    (241, StorageLimit::OutOfMemory),    // MEMORY_LIMIT_EXCEEDED
    (202, StorageLimit::TooManyQueries), // TOO_MANY_SIMULTANEOUS_QUERIES
];

impl QueryError {
    /// The limit a storage error ran into, if it was one.
    pub fn storage_limit(&self) -> Option<StorageLimit> {
        let Self::Storage(clickhouse::error::Error::BadResponse(message)) = self else {
            return None;
        };
        let code = tracehouse_schema::error::clickhouse_error_code(message)?;
        STORAGE_LIMIT_CODES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, limit)| *limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(message: &str) -> QueryError {
        QueryError::Storage(clickhouse::error::Error::BadResponse(message.to_owned()))
    }

    #[test]
    fn limits_are_told_from_outages() {
        let rows =
            storage("Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded");
        assert_eq!(rows.storage_limit(), Some(StorageLimit::TooManyRows));
        let time = storage("Code: 159. DB::Exception: Timeout exceeded: elapsed 1.2 seconds");
        assert_eq!(time.storage_limit(), Some(StorageLimit::TooSlow));
        assert_eq!(
            storage("Code: 60. DB::Exception: no table").storage_limit(),
            None
        );
        assert_eq!(storage("connection reset").storage_limit(), None);
        assert_eq!(QueryError::NotFound("x".to_owned()).storage_limit(), None);
    }
}
