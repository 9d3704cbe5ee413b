-- One function per time bucket (step in seconds): counts and latency percentiles.
-- params: step = 60, project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
SELECT
    toUInt32(intDiv(toUInt32(timestamp), {step:UInt32}) * {step:UInt32}) AS bucket,
    count() AS invocations,
    toUInt64(sum(is_error)) AS errors,
    toUInt64(sum(cold)) AS cold_starts,
    quantiles(0.5, 0.95)(duration_ns / 1000000) AS duration_quantiles_ms
FROM {effective_invocations} AS e
GROUP BY bucket
ORDER BY bucket
LIMIT 1000001
