//! ClickHouse schema of Tracehouse: migrations, row types, connections,
//! retention, and the managed local server.
//!
//! The SQL here is one dialect that runs on ClickHouse 18.16 and on current
//! releases (see `docs/clickhouse-dialect.md`).

pub mod attribute_codec;
pub mod cluster;
pub mod cluster_shards;
pub mod connection;
pub mod error;
pub mod lease;
pub mod managed;
pub mod managed_users;
pub mod migrations;
pub mod retention;
pub mod rows;
pub mod serverless_rows;
pub mod signal_rows;
pub mod sql;
pub mod tables;

pub use cluster::{Cluster, Layout};
pub use connection::ClickHouseSettings;
pub use error::SchemaError;
pub use managed::{ManagedClickHouse, ManagedOptions};
pub use migrations::{
    applied_version, applied_versions, apply_migrations, apply_migrations_in, pending_migrations,
    MIGRATIONS,
};
