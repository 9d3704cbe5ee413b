//! Connecting to ClickHouse.

use crate::cluster::Layout;
use crate::error::SchemaError;
use clickhouse::Client;

/// Where and as whom to reach ClickHouse. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseSettings {
    /// HTTP(S) URL of the server, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// User name.
    pub user: String,
    /// Password; empty for none.
    pub password: String,
    /// Database holding Tracehouse's tables; created when missing.
    pub database: String,
}

impl std::fmt::Debug for ClickHouseSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ClickHouseSettings")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("database", &self.database)
            .finish()
    }
}

impl ClickHouseSettings {
    /// A client bound to the database. Validation is off because ClickHouse
    /// 18.16 does not know the `RowBinaryWithNamesAndTypes` format; rows are
    /// sent and read as plain `RowBinary` with explicit column lists instead.
    pub fn client(&self) -> Result<Client, SchemaError> {
        validate_identifier(&self.database)?;
        Ok(self.server_client().with_database(&self.database))
    }

    /// A client not bound to any database, for creating it.
    pub fn server_client(&self) -> Client {
        Client::default()
            .with_url(&self.url)
            .with_user(&self.user)
            .with_password(&self.password)
            .with_validation(false)
    }

    /// Creates the database when it does not exist.
    pub async fn ensure_database(&self) -> Result<(), SchemaError> {
        self.ensure_database_in(&Layout::SingleNode).await
    }

    /// Creates the database when it does not exist, on every node of a cluster.
    pub async fn ensure_database_in(&self, layout: &Layout) -> Result<(), SchemaError> {
        validate_identifier(&self.database)?;
        let database = clickhouse::sql::Identifier(&self.database);
        let query = match layout {
            Layout::SingleNode => self
                .server_client()
                .query(crate::sql::CREATE_DATABASE)
                .bind(database),
            Layout::Cluster(cluster) => cluster_ddl(self.server_client())
                .query(crate::sql::cluster::CREATE_DATABASE)
                .bind(database)
                .bind(clickhouse::sql::Identifier(cluster.name())),
        };
        query
            .execute()
            .await
            .map_err(SchemaError::query("create database"))
    }

    /// The client of migrations, writers, retention and alerts for
    /// `layout`: on a cluster, DDL answers once every node did it (an error of
    /// any node fails the statement, not a trailing line of a streamed
    /// answer), and subqueries on `Distributed` tables run once (`GLOBAL`).
    /// Reads fail while a shard is down: alerts do not judge partial data.
    pub fn client_in(&self, layout: &Layout) -> Result<Client, SchemaError> {
        let client = self.client()?;
        Ok(match layout {
            Layout::SingleNode => client,
            Layout::Cluster(_) => {
                cluster_ddl(client).with_setting("distributed_product_mode", "global")
            }
        })
    }

    /// [`Self::client_in`], and on a cluster whose servers know it (20.x and
    /// later, not 18.16) `deduplicate_blocks_in_dependent_materialized_views`:
    /// a retried block the base table ignores as a duplicate still reaches
    /// the views whose part of it the failure interrupted.
    pub async fn writer_in(&self, layout: &Layout) -> Result<Client, SchemaError> {
        let client = self.client_in(layout)?;
        if *layout == Layout::SingleNode {
            return Ok(client);
        }
        with_known_setting(client, VIEW_DEDUPLICATION).await
    }

    /// The read-side client for `layout`: on a cluster, shards that are down
    /// are skipped (answers are partial, see [`crate::cluster::reachable_shards`])
    /// and a subquery on a `Distributed` table inside a query on another runs
    /// once, its result sent to every shard (`GLOBAL IN`, `GLOBAL JOIN`).
    /// Where the servers know it (not 18.16), `optimize_skip_unused_shards`
    /// sends a read of one trace id only to the shard that owns it.
    pub async fn reader_in(&self, layout: &Layout) -> Result<Client, SchemaError> {
        let client = self.client()?;
        match layout {
            Layout::SingleNode => Ok(client),
            Layout::Cluster(_) => {
                let client = client
                    .with_setting("skip_unavailable_shards", "1")
                    .with_setting("distributed_product_mode", "global");
                with_known_setting(client, SKIP_UNUSED_SHARDS).await
            }
        }
    }
}

/// `client` with the boolean setting `name` on, when its server knows it.
async fn with_known_setting(client: Client, name: &'static str) -> Result<Client, SchemaError> {
    let known: Vec<crate::migrations::CountRow> = client
        .query(crate::sql::HAS_SETTING)
        .bind(name)
        .fetch_all()
        .await
        .map_err(SchemaError::query("read the server's settings"))?;
    Ok(if known.first().is_some_and(|row| row.count > 0) {
        client.with_setting(name, "1")
    } else {
        client
    })
}

/// Reads with a constant sharding key go to the owning shard only (newer servers only).
const SKIP_UNUSED_SHARDS: &str = "optimize_skip_unused_shards";

/// Pushes retried blocks to the views too (newer servers only).
const VIEW_DEDUPLICATION: &str = "deduplicate_blocks_in_dependent_materialized_views";

/// DDL of cluster mode waits for the end of the query before answering.
fn cluster_ddl(client: Client) -> Client {
    client.with_setting("wait_end_of_query", "1")
}

/// Accepts `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
pub fn validate_identifier(name: &str) -> Result<(), SchemaError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphabetic() || byte == b'_');
    let rest_ok = bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(SchemaError::InvalidDatabaseName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(validate_identifier("tracehouse_test_1").is_ok());
        assert!(validate_identifier("1abc").is_err());
        assert!(validate_identifier("a-b").is_err());
        assert!(validate_identifier("a`b").is_err());
        assert!(validate_identifier("").is_err());
    }
}
