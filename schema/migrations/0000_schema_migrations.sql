-- The migrations applied to this database, one row per version.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
) ENGINE = MergeTree()
ORDER BY version
