-- The cold-start invocations of one function in a window, newest first.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, limit = 1000, rollup_from_s = 1700000000, rollup_to_s = 1700000000
SELECT
    hex(trace_id) AS trace_id,
    hex(span_id) AS span_id,
    instance,
    start_time_unix_nano,
    duration_ns,
    report_has_init,
    report_init_ms
FROM {effective_invocations} AS e
WHERE cold = 1
ORDER BY start_time_unix_nano DESC
LIMIT {limit:UInt64}
