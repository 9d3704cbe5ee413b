-- One function's invocations in a window: only failed ones when failed_only is 1, slowest first when slowest is 1, else newest first.
-- params: project = 'default', all_functions = 0, functions = ['fn-a'], all_traces = 1, trace_ids = [], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, failed_only = 1, slowest = 0, limit = 20, rollup_from_s = 1700000000, rollup_to_s = 1700000000
SELECT
    hex(trace_id) AS trace_id,
    hex(span_id) AS span_id,
    instance,
    start_time_unix_nano,
    duration_ns,
    is_error,
    toUInt8(cold) AS is_cold,
    report_has_init,
    report_init_ms
FROM {effective_invocations} AS e
WHERE ({failed_only:UInt8} = 0 OR is_error = 1)
ORDER BY if({slowest:UInt8} = 1, duration_ns, start_time_unix_nano) DESC
LIMIT {limit:UInt64}
