//! Names of the tables Tracehouse owns. Code that must splice a table name
//! into SQL takes it from here, never from input.

/// Every span, ordered by project, service, name and time.
pub const SPANS: &str = "spans";
/// The same spans ordered by trace id, filled by a materialized view.
pub const TRACE_SPANS: &str = "trace_spans";
/// Applied migrations.
pub const SCHEMA_MIGRATIONS: &str = "schema_migrations";

/// Tables partitioned by day, whose old partitions retention drops.
pub const DAY_PARTITIONED: &[&str] = &[SPANS, TRACE_SPANS];
