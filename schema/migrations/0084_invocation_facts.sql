-- Settled invocations: the rows of the query crate's {live_invocations}
-- (each invocation once, with its REPORT figures, cold-start verdict and
-- billing units), written by the settler for minutes whose data has
-- arrived, so that reads of those minutes skip the exactly-once step and the
-- lookups. A minute is settled again, under a new generation, when data for
-- it arrives late; a read takes each minute's newest generation listed in
-- invocation_facts_minutes (docs/serverless.md, "Settled invocations").
CREATE TABLE IF NOT EXISTS invocation_facts (
    project String,
    function String,
    timestamp DateTime,
    start_time_unix_nano UInt64,
    duration_ns UInt64,
    service String,
    region String,
    instance String,
    function_version String,
    trace_id FixedString(16),
    span_id FixedString(8),
    is_error UInt8,
    arch String,
    cold UInt8,
    provider String,
    memory_mb UInt32,
    has_report UInt8,
    report_billed_ms UInt64,
    report_has_init UInt8,
    report_init_ms Float64,
    billed_ms_aws UInt64,
    billed_ms_azure UInt64,
    billed_ms_gcp UInt64,
    generation UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, function, timestamp)
SETTINGS index_granularity = 8192
