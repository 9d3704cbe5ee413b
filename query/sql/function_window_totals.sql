-- Every function of a project together over a window: counts and latency percentiles, for headline figures.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 1, trace_ids = [], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
SELECT
    count() AS invocations,
    toUInt64(sum(is_error)) AS errors,
    toUInt64(sum(cold)) AS cold_starts,
    quantiles(0.5, 0.95)(duration_ns / 1000000) AS duration_quantiles_ms
FROM {effective_invocations} AS e
LIMIT 1
