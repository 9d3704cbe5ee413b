-- Settled invocations per minute: the settler's rollup of invocation_facts by
-- function, minute and the traits a read groups by (service, pricing traits,
-- version, cold or warm), with sums, extremes and percentile states, written
-- under the generation of the facts they sum. Reads take whole settled
-- minutes from here and every other minute from the rows (query crate,
-- fragments effective_slots and slot_columns).
CREATE TABLE IF NOT EXISTS invocation_minutes (
    project String,
    function String,
    slot UInt32,
    service String,
    provider String,
    region String,
    arch String,
    memory_mb UInt32,
    function_version String,
    is_cold UInt8,
    invocation_count UInt64,
    error_count UInt64,
    billed_ms_aws_sum UInt64,
    billed_ms_azure_sum UInt64,
    billed_ms_gcp_sum UInt64,
    duration_ns_sum UInt64,
    duration_ns_max UInt64,
    first_start_min UInt64,
    last_start_max UInt64,
    duration_ms_state AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    init_count_sum UInt64,
    init_ms_state AggregateFunction(quantilesIf(0.5, 0.95), Float64, UInt8),
    generation UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(toDateTime(slot))
ORDER BY (project, function, slot)
SETTINGS index_granularity = 8192
