-- One row per function invocation, derived at ingest from the entry span of
-- each execution (see docs/serverless.md). Ordered for per-function questions
-- over a time window. `coldstart_attribute` is the span's `faas.coldstart`
-- (1 true, 0 false, -1 absent); when absent, the cold start is derived at
-- query time from instance_first_starts. memory_mb 0 and empty strings mean
-- unknown.
CREATE TABLE IF NOT EXISTS invocations (
    project String,
    timestamp DateTime,
    start_time_unix_nano UInt64,
    duration_ns UInt64,
    function String,
    service String,
    provider String,
    region String,
    function_version String,
    instance String,
    trigger String,
    invocation_id String,
    trace_id FixedString(16),
    span_id FixedString(8),
    is_error UInt8,
    coldstart_attribute Int8,
    memory_mb UInt32,
    arch String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, function, timestamp)
SETTINGS index_granularity = 8192
