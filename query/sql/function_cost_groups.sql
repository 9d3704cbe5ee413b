-- Billing units per function, time bucket (step in seconds), pricing traits and cold/warm, rounded per invocation.
-- params: step = 60, project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000, slot_s = 60
-- The functions list, time series and chains all price these groups.
SELECT
    function,
    toUInt32(intDiv(slot, {step:UInt32}) * {step:UInt32}) AS bucket,
    provider,
    region,
    arch,
    memory_mb,
    is_cold,
    sum(invocation_count) AS invocations,
    toUInt64(sum(billed_ms_aws_sum)) AS billed_ms_aws,
    toUInt64(sum(billed_ms_azure_sum)) AS billed_ms_azure,
    toUInt64(sum(billed_ms_gcp_sum)) AS billed_ms_gcp
FROM {effective_slots} AS s
GROUP BY function, bucket, provider, region, arch, memory_mb, is_cold
ORDER BY function, bucket
LIMIT 1000001
