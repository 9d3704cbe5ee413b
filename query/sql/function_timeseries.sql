-- One function per time bucket (step in seconds): counts and latency percentiles.
-- params: step = 60, project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000, slot_s = 60
SELECT
    toUInt32(intDiv(slot, {step:UInt32}) * {step:UInt32}) AS bucket,
    sum(invocation_count) AS invocations,
    toUInt64(sum(error_count)) AS errors,
    toUInt64(sum(is_cold * invocation_count)) AS cold_starts,
    arraySlice(quantilesMerge(0.5, 0.95, 0.99)(duration_ms_state), 1, 2) AS duration_quantiles_ms
FROM {effective_slots} AS s
GROUP BY bucket
ORDER BY bucket
LIMIT 1000001
