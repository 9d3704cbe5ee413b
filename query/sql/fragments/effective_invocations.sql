-- Fragment {effective_invocations}: the invocations of a scope (invocation_scope:
-- project, functions, traces, window) as billed and classified: each span once,
-- cold (its faas.coldstart attribute, else the first invocation of its instance;
-- and always when its REPORT shows an init or a SnapStart restore), failed (the
-- span's error, or a REPORT status other than success), lasting the span plus any
-- restore (a restored cold start waits for it), with the REPORT figures of its
-- request when any, and its billing units.
-- Templates write FROM {effective_invocations} AS e. The one place of the
-- cold-start rule and of the per-invocation billing rounding: AWS 1 ms steps
-- (or the billed duration of a Lambda REPORT line, never less than Duration plus
-- Billed Restore Duration: Lambda charges the billed restore as duration), Azure at least 100 ms,
-- Google Cloud 100 ms steps.
-- The first invocation of an instance is the earlier of its stored first start
-- (instance_first_starts) and the first of its invocations in the scope, which
-- covers the instant between the invocations part of an insert and the part of
-- its materialized view. The invocations are read once (grouped per instance
-- and array-joined back), the instance and request ids of the scope once more.
-- Inner columns are named apart from the outer aliases (span_duration_ns, not
-- duration_ns): 18.16 resolves c.duration_ns to an outer alias of that name.
(
    SELECT
        c.project AS project, c.function AS function, c.timestamp AS timestamp,
        c.start_time_unix_nano AS start_time_unix_nano,
        c.span_duration_ns + if(r.report_has_restore = 1,
                           toUInt64(round(r.report_restore_ms * 1000000)), 0) AS duration_ns,
        c.service AS service, c.region AS region, c.instance AS instance,
        c.trace_id AS trace_id, c.span_id AS span_id,
        toUInt8(c.span_is_error = 1 OR r.report_failed = 1) AS is_error,
        c.arch AS arch,
        toUInt8(c.derived_cold = 1 OR r.report_has_init = 1 OR r.report_has_restore = 1) AS cold,
        if(c.provider = '' AND r.has_report = 1, 'aws', c.provider) AS provider,
        if(r.has_report = 1, r.report_memory_mb, c.memory_mb) AS memory_mb,
        r.has_report AS has_report, r.report_billed_ms AS report_billed_ms,
        r.report_has_init AS report_has_init, r.report_init_ms AS report_init_ms,
        toUInt64(if(r.has_report = 1, r.report_billed_ms, intDiv(c.span_duration_ns + 999999, 1000000))) AS billed_ms_aws,
        toUInt64(greatest(intDiv(c.span_duration_ns + 999999, 1000000), 100)) AS billed_ms_azure,
        toUInt64(intDiv(c.span_duration_ns + 99999999, 100000000) * 100) AS billed_ms_gcp
    FROM (
        SELECT
            i.project AS project, i.function AS function, i.timestamp AS timestamp,
            i.start_time_unix_nano AS start_time_unix_nano, i.duration_ns AS span_duration_ns,
            i.service AS service, i.provider AS provider, i.region AS region,
            i.instance AS instance, i.invocation_id AS invocation_id,
            i.trace_id AS trace_id, i.span_id AS span_id, i.is_error AS span_is_error,
            i.memory_mb AS memory_mb, i.arch AS arch,
            if(i.coldstart_attribute >= 0, i.coldstart_attribute = 1,
               i.instance != '' AND i.span_id = if(f.has_stored = 1 AND f.stored_start <= i.own_first_start,
                                                   f.stored_span_id, i.own_first_span_id)) AS derived_cold
        FROM (
            SELECT project, function, instance, own_first_start, own_first_span_id,
                   timestamp, start_time_unix_nano, duration_ns, service, provider, region,
                   invocation_id, trace_id, span_id, is_error, coldstart_attribute, memory_mb, arch
            FROM (
                SELECT project, function, instance,
                       min(start_time_unix_nano) AS own_first_start,
                       argMin(span_id, start_time_unix_nano) AS own_first_span_id,
                       groupArray(timestamp) AS timestamps, groupArray(start_time_unix_nano) AS starts,
                       groupArray(duration_ns) AS durations, groupArray(service) AS services,
                       groupArray(provider) AS providers, groupArray(region) AS regions,
                       groupArray(invocation_id) AS invocation_ids, groupArray(trace_id) AS trace_ids,
                       groupArray(span_id) AS span_ids, groupArray(is_error) AS errors,
                       groupArray(coldstart_attribute) AS coldstart_attributes,
                       groupArray(memory_mb) AS memory_sizes, groupArray(arch) AS archs
                FROM (
                    SELECT project, function, timestamp, start_time_unix_nano, duration_ns, service,
                           provider, region, instance, invocation_id, trace_id, span_id, is_error,
                           coldstart_attribute, memory_mb, arch
                    FROM invocations
                    WHERE {invocation_scope}
                    -- A span exported twice (a client retry) is one invocation.
                    LIMIT 1 BY trace_id, span_id
                )
                GROUP BY project, function, instance
            )
            ARRAY JOIN
                timestamps AS timestamp, starts AS start_time_unix_nano, durations AS duration_ns,
                services AS service, providers AS provider, regions AS region,
                invocation_ids AS invocation_id, trace_ids AS trace_id, span_ids AS span_id,
                errors AS is_error, coldstart_attributes AS coldstart_attribute,
                memory_sizes AS memory_mb, archs AS arch
        ) AS i
        ANY LEFT JOIN (
            SELECT project, function, instance, toUInt8(1) AS has_stored,
                   minMerge(first_start_unix_nano) AS stored_start,
                   argMinMerge(first_span_id) AS stored_span_id
            FROM instance_first_starts
            WHERE project = {project:String}
              AND ({all_functions:UInt8} OR function IN (SELECT arrayJoin(CAST({functions:Array(String)} AS Array(String)))))
              -- Only the instances of the scope: the table keeps every instance ever seen.
              AND instance IN (SELECT arrayJoin([instance, invocation_id]) FROM invocations WHERE {invocation_scope})
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
        WHERE project = {project:String} AND request_id != ''
          -- The same set of the scope's instance and request ids as above.
          AND request_id IN (SELECT arrayJoin([instance, invocation_id]) FROM invocations WHERE {invocation_scope})
        GROUP BY request_id
    ) AS r USING (invocation_id)
)
