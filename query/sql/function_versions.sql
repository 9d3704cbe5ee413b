-- One function's invocations per version (faas.version, else service.version) in a window, oldest version first.
-- params: project = 'default', all_functions = 0, functions = ['fn-a'], all_traces = 1, trace_ids = [], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
SELECT
    function_version AS version,
    count() AS invocations,
    toUInt64(sum(is_error)) AS errors,
    toUInt64(sum(cold)) AS cold_starts,
    quantiles(0.5, 0.95)(duration_ns / 1000000) AS duration_quantiles_ms,
    min(start_time_unix_nano) AS first_start_unix_nano,
    max(start_time_unix_nano) AS last_start_unix_nano
FROM {effective_invocations} AS e
GROUP BY version
ORDER BY first_start_unix_nano
LIMIT 50
