//! The schema crate's own statements (database, migration bookkeeping,
//! retention), one per file in `schema/sql/`, so that the dialect check runs
//! them on ClickHouse 26.9 too (with the samples of their `-- samples:` line
//! for the `?` the clickhouse crate binds). Table names bound here come from
//! [`crate::tables`], never from input.

/// `CREATE DATABASE IF NOT EXISTS ?` (identifier).
pub const CREATE_DATABASE: &str = include_str!("../sql/create_database.sql");
/// Every applied migration version.
pub const APPLIED_VERSION: &str = include_str!("../sql/applied_version.sql");
/// How many of the given columns a table has.
pub const EXISTING_COLUMNS: &str = include_str!("../sql/existing_columns.sql");
/// Which of the given tables exist.
pub const EXISTING_TABLES: &str = include_str!("../sql/existing_tables.sql");
/// The active partitions of the given tables.
pub const DAY_PARTITIONS: &str = include_str!("../sql/day_partitions.sql");
/// Drops one partition by id.
pub const DROP_PARTITION: &str = include_str!("../sql/drop_partition.sql");
/// Today in the server's time zone.
pub const SERVER_TODAY: &str = include_str!("../sql/server_today.sql");
/// Forgets the first starts of instances without kept invocations.
pub const FORGET_EXPIRED_INSTANCES: &str = include_str!("../sql/forget_expired_instances.sql");
/// One beat (or the release) of a lease holder.
pub const LEASE_BEAT: &str = include_str!("../sql/lease_beat.sql");
/// The holder of a lease.
pub const LEASE_HOLDER: &str = include_str!("../sql/lease_holder.sql");
/// Whether the server knows a setting.
pub const HAS_SETTING: &str = include_str!("../sql/has_setting.sql");

/// Statements of cluster mode, in `schema/sql/cluster/` (chDB has no
/// cluster; the live cluster test runs them on 18.16).
pub mod cluster {
    /// `CREATE DATABASE IF NOT EXISTS ? ON CLUSTER ?`.
    pub const CREATE_DATABASE: &str = include_str!("../sql/cluster/create_database.sql");
    /// The active partitions of the given local tables on every node.
    pub const DAY_PARTITIONS: &str = include_str!("../sql/cluster/day_partitions.sql");
    /// Drops one partition of a local table on every shard.
    pub const DROP_PARTITION: &str = include_str!("../sql/cluster/drop_partition.sql");
    /// How many shards the cluster has and how many answer.
    pub const SHARDS: &str = include_str!("../sql/cluster/shards.sql");
    /// Forgets, on every shard, the first starts without kept invocations there.
    pub const FORGET_EXPIRED_INSTANCES: &str =
        include_str!("../sql/cluster/forget_expired_instances.sql");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples separated by top-level commas (not inside `[...]` or quotes).
    fn sample_count(samples: &str) -> usize {
        if samples.trim().is_empty() {
            return 0;
        }
        let (mut depth, mut quoted, mut count) = (0i32, false, 1);
        for character in samples.chars() {
            match character {
                '\'' => quoted = !quoted,
                '[' | '(' if !quoted => depth += 1,
                ']' | ')' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => count += 1,
                _ => {}
            }
        }
        count
    }

    /// Each file has one `?` per sample, and none in its comments (the
    /// crate would take it for a placeholder).
    #[test]
    fn samples_match_placeholders() {
        for sql in [
            CREATE_DATABASE,
            APPLIED_VERSION,
            EXISTING_COLUMNS,
            EXISTING_TABLES,
            DAY_PARTITIONS,
            DROP_PARTITION,
            SERVER_TODAY,
            FORGET_EXPIRED_INSTANCES,
            HAS_SETTING,
            cluster::CREATE_DATABASE,
            cluster::DAY_PARTITIONS,
            cluster::DROP_PARTITION,
            cluster::FORGET_EXPIRED_INSTANCES,
            cluster::SHARDS,
        ] {
            let samples = sql
                .lines()
                .find_map(|line| line.strip_prefix("-- samples:"))
                .expect("a samples line");
            let comments: String = sql.lines().filter(|line| line.starts_with("--")).collect();
            assert!(!comments.contains('?'), "{sql}");
            assert_eq!(sql.matches('?').count(), sample_count(samples), "{sql}");
        }
    }
}
