-- Billing units per function, time bucket (step in seconds), pricing traits and cold/warm, rounded per invocation.
-- params: step = 60, project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
-- The functions list, time series and chains all price these groups.
SELECT
    function,
    toUInt32(intDiv(toUInt32(timestamp), {step:UInt32}) * {step:UInt32}) AS bucket,
    {billing_units}
FROM {effective_invocations} AS e
GROUP BY function, bucket, provider, region, arch, memory_mb, is_cold
ORDER BY function, bucket
LIMIT 1000001
