-- The settler's progress per project: every invocation starting before
-- settled_until_unix_nano is in invocation_facts, as of the settle pass
-- that started at pass_started_at (server time). The newest row counts.
CREATE TABLE IF NOT EXISTS invocation_settle_marks (
    project String,
    settled_until_unix_nano UInt64,
    pass_started_at DateTime,
    written_unix_nano UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(pass_started_at)
ORDER BY (project, written_unix_nano)
SETTINGS index_granularity = 8192
