-- AWS Lambda platform REPORT lines parsed from OTLP log records, keyed by
-- request id (the invocation's faas.invocation_id). They are the billing
-- figures of record and are joined to invocations at query time, so it does
-- not matter whether the line or the span arrives first.
CREATE TABLE IF NOT EXISTS platform_reports (
    project String,
    timestamp DateTime,
    time_unix_nano UInt64,
    request_id String,
    function String,
    service String,
    duration_ms Float64,
    billed_duration_ms UInt64,
    memory_size_mb UInt32,
    max_memory_used_mb UInt32,
    init_duration_ms Float64,
    has_init_duration UInt8
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, request_id)
SETTINGS index_granularity = 8192
