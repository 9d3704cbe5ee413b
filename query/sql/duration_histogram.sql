-- Cold and warm invocation counts of one function per power-of-two duration bucket (upper bound in ms).
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000
SELECT
    toFloat64(pow(2, ceil(log2(greatest(duration_ns / 1000000, 1))))) AS le_ms,
    toUInt64(sum(cold)) AS cold_count,
    toUInt64(count() - sum(cold)) AS warm_count
FROM {effective_invocations} AS e
GROUP BY le_ms
ORDER BY le_ms
LIMIT 1000001
