-- Fragment {effective_invocations}: the invocations of a window as billed and
-- classified: each span once, cold (its faas.coldstart attribute, else the first
-- invocation of its instance; and always when its REPORT shows an init or a
-- SnapStart restore), failed (the span's error, or a REPORT status other than
-- success), lasting the span plus any restore (a restored cold start waits for
-- it), with the REPORT figures of its request when any. The billed milliseconds
-- are the REPORT's Billed Duration, never less than Duration plus Billed Restore
-- Duration (Lambda charges the billed restore as duration).
-- Templates write FROM {effective_invocations} AS e. Its 32 placeholders are, in order:
-- project, function, function, from s, to s, from ns, to ns (the window invocations);
-- project, function, function; project, function, function, from s, to s, from ns, to ns;
-- project, function, function, from s, to s, from ns, to ns (first starts);
-- project; project, function, function, from s, to s, from ns, to ns (REPORT lines).
(
    SELECT
        c.project AS project, c.function AS function, c.timestamp AS timestamp,
        c.start_time_unix_nano AS start_time_unix_nano,
        c.duration_ns + if(r.report_has_restore = 1,
                           toUInt64(round(r.report_restore_ms * 1000000)), 0) AS duration_ns,
        c.service AS service, c.region AS region, c.instance AS instance,
        c.trace_id AS trace_id, c.span_id AS span_id,
        toUInt8(c.is_error = 1 OR r.report_failed = 1) AS is_error,
        c.arch AS arch,
        toUInt8(c.cold = 1 OR r.report_has_init = 1 OR r.report_has_restore = 1) AS cold,
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
               max(greatest(billed_duration_ms, toUInt64(ceil(duration_ms)) + billed_restore_duration_ms))
                   AS report_billed_ms,
               max(memory_size_mb) AS report_memory_mb,
               max(has_init_duration) AS report_has_init, max(init_duration_ms) AS report_init_ms,
               max(has_restore_duration) AS report_has_restore,
               max(restore_duration_ms) AS report_restore_ms,
               max(failed) AS report_failed
        FROM platform_reports
        WHERE project = ? AND request_id IN (
            SELECT invocation_id FROM invocations
            WHERE project = ? AND (? = '' OR function = ?) AND invocation_id != ''
              AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
              AND start_time_unix_nano >= ? AND start_time_unix_nano < ?
        )
        GROUP BY request_id
    ) AS r USING (invocation_id)
)
