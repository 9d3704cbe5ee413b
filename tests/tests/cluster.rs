//! Scale-out mode on a real cluster: ZooKeeper and two ClickHouse 18.16
//! servers as two shards on loopback (see `support/cluster.rs`).

#[path = "support/cluster.rs"]
mod cluster_support;

use cluster_support::{LoopbackCluster, CLUSTER};
use tracehouse_schema::{ClickHouseSettings, Cluster, Layout};

fn settings(cluster: &LoopbackCluster, node: usize, database: &str) -> ClickHouseSettings {
    ClickHouseSettings {
        url: cluster.url(node),
        user: "default".to_owned(),
        password: String::new(),
        database: database.to_owned(),
    }
}

/// Two processes migrate at once, each from another node: both succeed,
/// and every node has every table, local and distributed.
#[tokio::test]
async fn migrations_apply_on_the_cluster_from_two_nodes_at_once() -> anyhow::Result<()> {
    let cluster = LoopbackCluster::start(2).await?;
    let database = "th_migrate";
    let layout = Layout::Cluster(Cluster::new(CLUSTER, database)?);
    let migrate = |node: usize| {
        let settings = settings(&cluster, node, database);
        let layout = layout.clone();
        async move {
            settings.ensure_database_in(&layout).await?;
            let client = settings.client_in(&layout)?;
            tracehouse_schema::apply_migrations_in(&client, &layout).await
        }
    };
    let (first, second) = tokio::join!(migrate(0), migrate(1));
    let expected = tracehouse_schema::MIGRATIONS.last().map(|m| m.version);
    assert_eq!(Some(first?), expected);
    assert_eq!(Some(second?), expected);
    for node in 0..2 {
        let tables = cluster
            .query(
                node,
                &format!("SELECT name, engine FROM system.tables WHERE database = '{database}' ORDER BY name"),
            )
            .await?;
        println!("node {node}:\n{tables}");
        assert!(tables.contains("spans\tDistributed"), "{tables}");
        assert!(
            tables.contains("spans_local\tReplicatedMergeTree"),
            "{tables}"
        );
        assert!(
            tables.contains("instance_first_starts_local\tReplicatedAggregatingMergeTree"),
            "{tables}"
        );
        assert!(
            tables.contains("schema_migrations\tReplicatedMergeTree"),
            "{tables}"
        );
        let columns = cluster
            .query(node, &format!("SELECT count() FROM system.columns WHERE database = '{database}' AND table IN ('platform_reports', 'platform_reports_local') AND name = 'failed'"))
            .await?;
        assert_eq!(columns.trim(), "2", "node {node}");
    }
    for probe in [
        "SELECT count() FROM system.settings WHERE name = 'optimize_skip_unused_shards'",
        "SELECT count() FROM cluster('tracehouse', system.one)",
        "SELECT count() FROM cluster(tracehouse, system.one)",
        "SELECT version()",
    ] {
        println!(
            "{probe}: {:?}",
            cluster.query(0, probe).await.map(|t| t.trim().to_owned())
        );
    }
    Ok(())
}
