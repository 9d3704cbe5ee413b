-- Every function of a project together over a window: counts and latency percentiles, for headline figures.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 1, trace_ids = [], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000, slot_s = 60
SELECT
    sum(invocation_count) AS invocations,
    toUInt64(sum(error_count)) AS errors,
    toUInt64(sum(is_cold * invocation_count)) AS cold_starts,
    arraySlice(quantilesMerge(0.5, 0.95, 0.99)(duration_ms_state), 1, 2) AS duration_quantiles_ms
FROM {effective_slots} AS s
LIMIT 1
