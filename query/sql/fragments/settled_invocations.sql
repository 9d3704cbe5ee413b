-- Fragment {settled_invocations}: the settled half of a scope, [from, split):
-- the rows {live_invocations} gave for those minutes when the settler last
-- settled them (invocation_facts), as {settled_facts} selects them. A read
-- splits at the settler's mark, below which every minute is settled and has
-- received no data since (QueryService::scope_params). A bare SELECT, the
-- first of {effective_invocations}'s UNION ALL.
    SELECT
        project, function, timestamp, start_time_unix_nano, duration_ns, service, region,
        instance, function_version, trace_id, span_id, is_error, arch, cold, provider,
        memory_mb, has_report, report_billed_ms, report_has_init, report_init_ms,
        billed_ms_aws, billed_ms_azure, billed_ms_gcp
    FROM invocation_facts
    WHERE {settled_facts}
