-- Every function of a project together over a window: counts and latency percentiles, for headline figures.
-- params: 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000
SELECT
    count() AS invocations,
    toUInt64(sum(is_error)) AS errors,
    toUInt64(sum(cold)) AS cold_starts,
    quantiles(0.5, 0.95)(duration_ns / 1000000) AS duration_quantiles_ms
FROM {effective_invocations} AS e
