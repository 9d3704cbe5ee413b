-- Fragment {live_invocations}: the invocations of a scope (invocation_scope:
-- project, functions, traces, window) as billed and classified, computed from
-- the stored spans and REPORT lines: each span once,
-- cold (its faas.coldstart attribute, else the first invocation of its instance;
-- and always when its REPORT shows an init or a SnapStart restore), failed (the
-- span's error, or a REPORT status other than success), lasting the span plus any
-- restore (a restored cold start waits for it), with the REPORT figures of its
-- request when any, and its billing units.
-- Its columns are those of invocation_facts, which the settler fills from it,
-- in the same order (settled_invocations reads them back). The one place of the
-- cold-start rule and of the per-invocation billing rounding: AWS 1 ms steps
-- (or the billed duration of a Lambda REPORT line, never less than Duration plus
-- Billed Restore Duration: Lambda charges the billed restore as duration), Azure at least 100 ms,
-- Google Cloud 100 ms steps.
-- The first invocation of an instance is the earlier of its stored first start
-- (instance_first_starts) and the first of its invocations in the scope, which
-- covers the instant between the invocations part of an insert and the part of
-- its materialized view: {instance_first_spans} gives the one span per instance
-- that is cold by that rule, as a set the rows are tested against. The scope's
-- invocations are read with every column once, and a few columns of them again
-- for the two lookups (instances twice, request ids once): no per-instance
-- arrays, and memory stays near one copy of the scope's rows.
-- Inner columns are named apart from the outer aliases (span_duration_ns, not
-- duration_ns): 18.16 resolves c.duration_ns to an outer alias of that name.
-- A bare SELECT: templates write FROM ({live_invocations}) AS e, or put it in
-- a UNION ALL as {effective_invocations} does (a subquery less to analyse).
    SELECT
        c.span_project AS project, c.span_function AS function, c.span_timestamp AS timestamp,
        c.span_start AS start_time_unix_nano,
        c.span_duration_ns + if(r.report_has_restore = 1,
                           toUInt64(round(r.report_restore_ms * 1000000)), 0) AS duration_ns,
        c.service AS service, c.region AS region, c.instance AS instance,
        c.function_version AS function_version,
        c.trace_id AS trace_id, c.span_id AS span_id,
        toUInt8(c.span_is_error = 1 OR r.report_failed = 1) AS is_error,
        c.arch AS arch,
        toUInt8(if(c.coldstart_attribute >= 0, c.coldstart_attribute = 1,
                   c.instance != '' AND (c.span_function, c.instance, c.span_id) IN {instance_first_spans})
                OR r.report_has_init = 1 OR r.report_has_restore = 1) AS cold,
        if(c.provider = '' AND r.has_report = 1, 'aws', c.provider) AS provider,
        if(r.has_report = 1, r.report_memory_mb, c.memory_mb) AS memory_mb,
        r.has_report AS has_report, r.report_billed_ms AS report_billed_ms,
        r.report_has_init AS report_has_init, r.report_init_ms AS report_init_ms,
        toUInt64(if(r.has_report = 1, r.report_billed_ms, intDiv(c.span_duration_ns + 999999, 1000000))) AS billed_ms_aws,
        toUInt64(greatest(intDiv(c.span_duration_ns + 999999, 1000000), 100)) AS billed_ms_azure,
        toUInt64(intDiv(c.span_duration_ns + 99999999, 100000000) * 100) AS billed_ms_gcp
    FROM (
        SELECT project AS span_project, function AS span_function, timestamp AS span_timestamp,
               start_time_unix_nano AS span_start, duration_ns AS span_duration_ns,
               service, provider, region, function_version, instance, invocation_id,
               trace_id, span_id, is_error AS span_is_error, coldstart_attribute, memory_mb, arch
        FROM invocations
        WHERE {invocation_scope}
        -- A span exported twice (a client retry, a log replay) is one invocation.
        LIMIT 1 BY trace_id, span_id
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
        WHERE project = {project:String} AND request_id != ''
          -- Only the requests of the scope.
          AND request_id IN (SELECT invocation_id FROM invocations WHERE {invocation_scope})
        GROUP BY request_id
    ) AS r USING (invocation_id)
