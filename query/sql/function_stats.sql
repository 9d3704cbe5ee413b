-- Per function over a window: counts, latency percentiles, cold starts, init durations.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
SELECT
    function,
    argMax(service, start_time_unix_nano) AS service,
    argMax(provider, start_time_unix_nano) AS provider,
    argMax(region, start_time_unix_nano) AS region,
    argMaxIf(memory_mb, start_time_unix_nano, memory_mb > 0) AS memory_mb,
    argMaxIf(arch, start_time_unix_nano, arch != '') AS arch,
    count() AS invocations,
    toUInt64(sum(is_error)) AS errors,
    toUInt64(sum(cold)) AS cold_starts,
    avg(duration_ns / 1000000) AS avg_ms,
    max(duration_ns / 1000000) AS max_ms,
    quantiles(0.5, 0.95, 0.99)(duration_ns / 1000000) AS duration_quantiles_ms,
    quantilesIf(0.5)(duration_ns / 1000000, cold = 0) AS warm_quantiles_ms,
    quantilesIf(0.5)(duration_ns / 1000000, cold = 1) AS cold_quantiles_ms,
    toUInt64(sum(report_has_init)) AS init_count,
    quantilesIf(0.5, 0.95)(report_init_ms, report_has_init = 1) AS init_quantiles_ms
FROM {effective_invocations} AS e
GROUP BY function
ORDER BY function
LIMIT 1000001
