-- Billing units per function, time bucket (step in seconds), pricing traits and cold/warm, rounded per invocation.
-- params: 60, 60, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000, 'default', 'default', '', '', 1700000000, 1700003600, 1700000000000000000, 1700003600000000000
-- Rounding: AWS 1 ms steps (or the billed duration of a Lambda REPORT
-- line), Azure at least 100 ms, Google Cloud 100 ms steps.
SELECT
    function,
    toUInt32(intDiv(toUInt32(timestamp), ?) * ?) AS bucket,
    provider,
    region,
    arch,
    memory_mb,
    toUInt8(cold) AS is_cold,
    count() AS invocations,
    toUInt64(sum(if(has_report = 1, report_billed_ms, intDiv(duration_ns + 999999, 1000000)))) AS billed_ms_aws,
    toUInt64(sum(greatest(intDiv(duration_ns + 999999, 1000000), 100))) AS billed_ms_azure,
    toUInt64(sum(intDiv(duration_ns + 99999999, 100000000) * 100)) AS billed_ms_gcp
FROM {effective_invocations} AS e
GROUP BY function, bucket, provider, region, arch, memory_mb, is_cold
ORDER BY function, bucket
