-- The cold-start invocations of one function in a window, newest first.
-- params: 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 1000
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
LIMIT ?
