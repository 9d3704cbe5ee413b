//! Retention by dropping whole day partitions, which works on every
//! ClickHouse version (TTL does not exist on 18.16).

use crate::cluster::{Cluster, Layout};
use crate::error::SchemaError;
use crate::sql;
use crate::tables::{DAY_PARTITIONED, INSTANCE_FIRST_STARTS, INVOCATIONS};
use clickhouse::sql::Identifier;
use clickhouse::Client;

#[derive(clickhouse::Row, serde::Deserialize)]
struct PartitionRow {
    table: String,
    partition_id: String,
}

/// A partition that was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedPartition {
    pub table: String,
    /// `YYYYMMDD`.
    pub partition_id: String,
}

/// The first day (as `YYYYMMDD`) kept when keeping `retention_days` days up to `today`.
pub fn oldest_kept_day(today: chrono::NaiveDate, retention_days: u32) -> u32 {
    let oldest = today - chrono::Days::new(u64::from(retention_days.saturating_sub(1)));
    let formatted = oldest.format("%Y%m%d").to_string();
    formatted.parse().unwrap_or(0)
}

/// Drops every day partition older than `retention_days` (today counts as one
/// day) from the day-partitioned tables of the client's database.
pub async fn drop_expired_partitions(
    client: &Client,
    retention_days: u32,
) -> Result<Vec<DroppedPartition>, SchemaError> {
    drop_expired_partitions_in(client, &Layout::SingleNode, retention_days).await
}

/// [`drop_expired_partitions`] for `layout`: on a cluster, the partitions of
/// the local tables on every node, each dropped `ON CLUSTER`.
pub async fn drop_expired_partitions_in(
    client: &Client,
    layout: &Layout,
    retention_days: u32,
) -> Result<Vec<DroppedPartition>, SchemaError> {
    // Partitions are days of the server's time zone (`toYYYYMMDD` of a
    // DateTime), so today is the server's today, not UTC's.
    let oldest_kept = oldest_kept_day(server_today(client).await?, retention_days);
    let mut dropped = Vec::new();
    for partition in list_partitions(client, layout).await? {
        // Only day partitions of our own tables; anything else is left alone.
        let Some(table) = DAY_PARTITIONED
            .iter()
            .find(|name| stored_name(layout, name) == partition.table)
        else {
            continue;
        };
        let Ok(day) = partition.partition_id.parse::<u32>() else {
            continue;
        };
        if day >= oldest_kept {
            continue;
        }
        drop_partition(client, layout, table, &partition.partition_id).await?;
        tracing::info!(table, partition = %partition.partition_id, "dropped expired partition");
        dropped.push(DroppedPartition {
            table: (*table).to_owned(),
            partition_id: partition.partition_id,
        });
    }
    if dropped
        .iter()
        .any(|partition| partition.table == INVOCATIONS)
    {
        forget_expired_instances(client, layout).await?;
    }
    Ok(dropped)
}

/// The table holding the rows of `table`: itself, or its local table on a cluster.
fn stored_name(layout: &Layout, table: &str) -> String {
    match layout {
        Layout::SingleNode => table.to_owned(),
        Layout::Cluster(_) => Cluster::local_table(table),
    }
}

async fn list_partitions(
    client: &Client,
    layout: &Layout,
) -> Result<Vec<PartitionRow>, SchemaError> {
    let query = match layout {
        Layout::SingleNode => client.query(sql::DAY_PARTITIONS).bind(DAY_PARTITIONED),
        Layout::Cluster(cluster) => {
            let local: Vec<String> = DAY_PARTITIONED
                .iter()
                .map(|table| Cluster::local_table(table))
                .collect();
            client
                .query(sql::cluster::DAY_PARTITIONS)
                .bind(Identifier(cluster.name()))
                .bind(cluster.database())
                .bind(local)
        }
    };
    query
        .fetch_all()
        .await
        .map_err(SchemaError::query("list partitions"))
}

async fn drop_partition(
    client: &Client,
    layout: &Layout,
    table: &str,
    partition_id: &str,
) -> Result<(), SchemaError> {
    let query = match layout {
        Layout::SingleNode => client.query(sql::DROP_PARTITION).bind(Identifier(table)),
        Layout::Cluster(cluster) => client
            .query(sql::cluster::DROP_PARTITION)
            .bind(Identifier(cluster.database()))
            .bind(Identifier(&Cluster::local_table(table)))
            .bind(Identifier(cluster.name())),
    };
    query
        .bind(partition_id)
        .execute()
        .await
        .map_err(SchemaError::query(format!(
            "drop partition {partition_id} of {table}"
        )))
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TodayRow {
    today: u32,
}

/// Today in the server's time zone.
async fn server_today(client: &Client) -> Result<chrono::NaiveDate, SchemaError> {
    let rows: Vec<TodayRow> = client
        .query(sql::SERVER_TODAY)
        .fetch_all()
        .await
        .map_err(SchemaError::query("read the server's date"))?;
    let today = rows.first().map_or(0, |row| row.today);
    chrono::NaiveDate::parse_from_str(&today.to_string(), "%Y%m%d").map_err(|_| {
        SchemaError::UnexpectedAnswer(format!("the server's date {today} is not a date"))
    })
}

/// Bounds `instance_first_starts` (not partitioned, one row per instance):
/// an instance none of whose invocations is kept any more is forgotten. Its
/// first start is then older than the retention window, so no query can
/// ask about it; an instance idle for the whole window and then invoked
/// again would count that invocation as its cold start.
///
/// On a cluster each shard forgets the states its own invocations made.
async fn forget_expired_instances(client: &Client, layout: &Layout) -> Result<(), SchemaError> {
    let query = match layout {
        Layout::SingleNode => client
            .query(sql::FORGET_EXPIRED_INSTANCES)
            .bind(Identifier(INSTANCE_FIRST_STARTS))
            .bind(Identifier(INVOCATIONS)),
        Layout::Cluster(cluster) => {
            let database = Identifier(cluster.database());
            client
                .query(sql::cluster::FORGET_EXPIRED_INSTANCES)
                .bind(database)
                .bind(Identifier(&Cluster::local_table(INSTANCE_FIRST_STARTS)))
                .bind(Identifier(cluster.name()))
                .bind(database)
                .bind(Identifier(&Cluster::local_table(INVOCATIONS)))
        }
    };
    query.execute().await.map_err(SchemaError::query(
        "forget instances without kept invocations",
    ))?;
    tracing::info!("instances without kept invocations are being forgotten");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_today_and_the_days_before() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date");
        assert_eq!(oldest_kept_day(today, 1), 20260302);
        assert_eq!(oldest_kept_day(today, 7), 20260224);
        assert_eq!(oldest_kept_day(today, 0), 20260302);
    }
}
