//! Which shards of a cluster answer: a read through a `Distributed` table
//! skips shards that are down (`skip_unavailable_shards`), so its answer is
//! partial while any is.

use crate::cluster::Cluster;
use crate::error::SchemaError;
use clickhouse::Client;

/// How many shards the cluster has and how many answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clickhouse::Row, serde::Deserialize)]
pub struct ShardCount {
    pub shards: u64,
    pub reachable: u64,
}

impl ShardCount {
    /// Whether reads leave out a shard.
    pub fn is_partial(&self) -> bool {
        self.reachable < self.shards
    }
}

/// Asks the node `client` talks to which shards of `cluster` answer. The
/// client must skip unavailable shards (see
/// [`crate::ClickHouseSettings::reader_in`]).
pub async fn reachable_shards(
    client: &Client,
    cluster: &Cluster,
) -> Result<ShardCount, SchemaError> {
    let rows: Vec<ShardCount> = client
        .query(crate::sql::cluster::SHARDS)
        .bind(cluster.name())
        .bind(cluster.name())
        .fetch_all()
        .await
        .map_err(SchemaError::query("count reachable shards"))?;
    rows.first()
        .copied()
        .ok_or_else(|| SchemaError::UnexpectedAnswer("no row counting shards".to_owned()))
}
