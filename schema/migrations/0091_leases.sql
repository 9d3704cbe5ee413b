-- Leases of the work exactly one process does (alert evaluation and
-- settling invocations): every process that may do it beats here. Of the
-- holders whose newest beat (server time) is recent and that did not
-- release, the one beating without a gap since the earliest
-- (started_unix_nano) holds the lease.
CREATE TABLE IF NOT EXISTS leases (
    name String,
    holder String,
    started_unix_nano UInt64,
    written_unix_nano UInt64,
    beat_at DateTime,
    released UInt8
) ENGINE = ReplacingMergeTree(written_unix_nano)
ORDER BY (name, holder)
SETTINGS index_granularity = 8192
