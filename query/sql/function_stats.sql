-- Per function over a window: counts, latency percentiles, cold starts, init durations.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000, slot_s = 60
SELECT
    function,
    argMax(service, last_start_max) AS service,
    argMax(provider, last_start_max) AS provider,
    argMax(region, last_start_max) AS region,
    argMaxIf(memory_mb, last_start_max, memory_mb > 0) AS memory_mb,
    argMaxIf(arch, last_start_max, arch != '') AS arch,
    sum(invocation_count) AS invocations,
    toUInt64(sum(error_count)) AS errors,
    toUInt64(sum(is_cold * invocation_count)) AS cold_starts,
    sum(duration_ns_sum) / sum(invocation_count) / 1000000 AS avg_ms,
    max(duration_ns_max) / 1000000 AS max_ms,
    quantilesMerge(0.5, 0.95, 0.99)(duration_ms_state) AS duration_quantiles_ms,
    arraySlice(quantilesMergeIf(0.5, 0.95, 0.99)(duration_ms_state, is_cold = 0), 1, 1) AS warm_quantiles_ms,
    arraySlice(quantilesMergeIf(0.5, 0.95, 0.99)(duration_ms_state, is_cold = 1), 1, 1) AS cold_quantiles_ms,
    toUInt64(sum(init_count_sum)) AS init_count,
    quantilesIfMerge(0.5, 0.95)(init_ms_state) AS init_quantiles_ms
FROM {effective_slots} AS s
GROUP BY function
ORDER BY function
LIMIT 1000001
