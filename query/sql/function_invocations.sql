-- One function's invocations in a window: only failed ones when the first parameter is 1, slowest first when the second is 1, else newest first.
-- params: 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 1, 0, 20
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
WHERE (? = 0 OR is_error = 1)
ORDER BY if(? = 1, duration_ns, start_time_unix_nano) DESC
LIMIT ?
