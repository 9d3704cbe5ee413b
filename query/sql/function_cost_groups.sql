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
FROM (
    SELECT
        c.project AS project, c.function AS function, c.timestamp AS timestamp,
        c.start_time_unix_nano AS start_time_unix_nano, c.duration_ns AS duration_ns,
        c.service AS service, c.region AS region, c.instance AS instance,
        c.trace_id AS trace_id, c.span_id AS span_id, c.is_error AS is_error,
        c.arch AS arch, c.cold AS cold,
        if(c.provider = '' AND r.has_report = 1, 'aws', c.provider) AS provider,
        if(r.has_report = 1, r.report_memory_mb, c.memory_mb) AS memory_mb,
        r.has_report AS has_report, r.report_billed_ms AS report_billed_ms,
        r.report_has_init AS report_has_init, r.report_init_ms AS report_init_ms
    FROM (
        SELECT
            i.project AS project, i.function AS function, i.timestamp AS timestamp,
            i.start_time_unix_nano AS start_time_unix_nano, i.duration_ns AS duration_ns,
            i.service AS service, i.provider AS provider, i.region AS region,
            i.instance AS instance, i.invocation_id AS invocation_id,
            i.trace_id AS trace_id, i.span_id AS span_id, i.is_error AS is_error,
            i.memory_mb AS memory_mb, i.arch AS arch,
            if(i.coldstart_attribute >= 0, i.coldstart_attribute = 1,
               i.instance != '' AND i.span_id = f.first_span_id) AS cold
        FROM (
            SELECT project, function, timestamp, start_time_unix_nano, duration_ns, service,
                   provider, region, instance, invocation_id, trace_id, span_id, is_error,
                   coldstart_attribute, memory_mb, arch
            FROM invocations
            WHERE project = ? AND (? = '' OR function = ?)
              AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
              AND start_time_unix_nano >= ? AND start_time_unix_nano < ?
            -- A span exported twice (a client retry) is one invocation.
            LIMIT 1 BY trace_id, span_id
        ) AS i
        ANY LEFT JOIN (
            -- The first invocation of each instance: the stored first starts, and
            -- the own invocations of the window, which cover the instant between an
            -- the invocations part of an insert and the part of its materialized view.
            SELECT project, function, instance,
                   argMin(candidate_span_id, candidate_start) AS first_span_id
            FROM (
                SELECT project, function, instance,
                       minMerge(first_start_unix_nano) AS candidate_start,
                       argMinMerge(first_span_id) AS candidate_span_id
                FROM instance_first_starts
                WHERE project = ? AND (? = '' OR function = ?)
                  -- Only the instances of the window: the table keeps every instance ever seen.
                  AND instance IN (
                      SELECT instance FROM invocations
                      WHERE project = ? AND (? = '' OR function = ?)
                        AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
                        AND start_time_unix_nano >= ? AND start_time_unix_nano < ?
                  )
                GROUP BY project, function, instance
                UNION ALL
                SELECT project, function, instance,
                       start_time_unix_nano AS candidate_start, span_id AS candidate_span_id
                FROM invocations
                WHERE project = ? AND (? = '' OR function = ?) AND instance != ''
                  AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
                  AND start_time_unix_nano >= ? AND start_time_unix_nano < ?
            ) AS candidates
            GROUP BY project, function, instance
        ) AS f USING (project, function, instance)
    ) AS c
    ANY LEFT JOIN (
        SELECT request_id AS invocation_id, toUInt8(1) AS has_report,
               max(billed_duration_ms) AS report_billed_ms, max(memory_size_mb) AS report_memory_mb,
               max(has_init_duration) AS report_has_init, max(init_duration_ms) AS report_init_ms
        FROM platform_reports
        WHERE project = ? AND request_id IN (
            SELECT invocation_id FROM invocations
            WHERE project = ? AND (? = '' OR function = ?) AND invocation_id != ''
              AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
              AND start_time_unix_nano >= ? AND start_time_unix_nano < ?
        )
        GROUP BY request_id
    ) AS r USING (invocation_id)
) AS e
GROUP BY function, bucket, provider, region, arch, memory_mb, is_cold
ORDER BY function, bucket
