-- The minutes of invocation_facts and the generations they were settled
-- under, written after the facts of a generation are complete: a read uses
-- a minute's newest generation, so facts of an unfinished pass are never
-- read.
CREATE TABLE IF NOT EXISTS invocation_facts_minutes (
    project String,
    minute DateTime,
    generation UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(minute)
ORDER BY (project, minute)
SETTINGS index_granularity = 8192
