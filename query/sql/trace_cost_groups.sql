-- Billing units per trace, function, pricing traits and cold/warm of a scope's traces: what each trace of a search page invoked and cost.
-- params: project = 'default', all_functions = 1, functions = [], all_traces = 0, trace_ids = ['0af7651916cd43dd8448eb211c80319c'], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000, split_s = 1700000000, split_ns = 1700000000000000000, rollup_from_s = 1700000000, rollup_to_s = 1700000000
SELECT
    lower(hex(trace_id)) AS trace_hex,
    function,
    toUInt32(0) AS bucket,
    {billing_units}
FROM {effective_invocations} AS e
GROUP BY trace_hex, function, provider, region, arch, memory_mb, is_cold
ORDER BY trace_hex
LIMIT 1000001
