-- The invocations of a chain: invocation records of its traces, pruned by the chain functions and time range (the table is sorted by function and time), with cold starts (as the functions API decides them) and billing units per pricing group.
-- params: 'default', ['checkout'], 1700000000, 1800000000, ['0af7651916cd43dd8448eb211c80319c'], 'default', ['checkout'], 'default', 'default', ['checkout'], 1700000000, 1800000000, ['0af7651916cd43dd8448eb211c80319c']
SELECT
    function,
    provider,
    region,
    arch,
    memory_mb,
    count() AS invocations,
    countIf(cold = 1) AS cold_starts,
    toUInt64(sum(if(has_report = 1, report_billed_ms, intDiv(duration_ns + 999999, 1000000)))) AS billed_ms_aws,
    toUInt64(sum(greatest(intDiv(duration_ns + 999999, 1000000), 100))) AS billed_ms_azure,
    toUInt64(sum(intDiv(duration_ns + 99999999, 100000000) * 100)) AS billed_ms_gcp
FROM (
    SELECT
        c.function AS function, c.duration_ns AS duration_ns, c.region AS region,
        c.arch AS arch, c.cold AS cold,
        if(c.provider = '' AND r.has_report = 1, 'aws', c.provider) AS provider,
        if(r.has_report = 1, r.report_memory_mb, c.memory_mb) AS memory_mb,
        r.has_report AS has_report, r.report_billed_ms AS report_billed_ms
    FROM (
        SELECT
            i.function AS function, i.duration_ns AS duration_ns, i.provider AS provider,
            i.region AS region, i.invocation_id AS invocation_id, i.memory_mb AS memory_mb,
            i.arch AS arch,
            if(i.coldstart_attribute >= 0, i.coldstart_attribute = 1,
               i.instance != '' AND i.span_id = f.first_span_id) AS cold
        FROM (
            SELECT project, function, instance, duration_ns, provider, region, invocation_id,
                   span_id, coldstart_attribute, memory_mb, arch
            FROM invocations
            WHERE project = ? AND function IN (SELECT arrayJoin(?))
              AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
              AND trace_id IN (SELECT toFixedString(unhex(arrayJoin(?)), 16))
        ) AS i
        ANY LEFT JOIN (
            SELECT project, function, instance, argMinMerge(first_span_id) AS first_span_id
            FROM instance_first_starts
            WHERE project = ? AND function IN (SELECT arrayJoin(?))
            GROUP BY project, function, instance
        ) AS f USING (project, function, instance)
    ) AS c
    ANY LEFT JOIN (
        SELECT request_id AS invocation_id, toUInt8(1) AS has_report,
               max(billed_duration_ms) AS report_billed_ms, max(memory_size_mb) AS report_memory_mb
        FROM platform_reports
        WHERE project = ? AND request_id IN (
            SELECT invocation_id FROM invocations
            WHERE project = ? AND function IN (SELECT arrayJoin(?)) AND invocation_id != ''
              AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
              AND trace_id IN (SELECT toFixedString(unhex(arrayJoin(?)), 16))
        )
        GROUP BY request_id
    ) AS r USING (invocation_id)
) AS e
GROUP BY function, provider, region, arch, memory_mb
ORDER BY function, provider, region, arch, memory_mb
