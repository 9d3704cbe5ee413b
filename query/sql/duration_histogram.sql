-- Cold and warm invocation counts of one function per power-of-two duration bucket (upper bound in ms).
-- params: 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000
SELECT
    toFloat64(pow(2, ceil(log2(greatest(duration_ns / 1000000, 1))))) AS le_ms,
    toUInt64(sum(cold)) AS cold_count,
    toUInt64(count() - sum(cold)) AS warm_count
FROM {effective_invocations} AS e
GROUP BY le_ms
ORDER BY le_ms
