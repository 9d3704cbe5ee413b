-- Fragment {settled_invocations}: the settled half of a scope, [from, split):
-- the rows {live_invocations} gave for those minutes when the settler last
-- settled them (invocation_facts), each minute under its newest generation
-- (invocation_facts_minutes lists a generation only once all its facts are
-- written). A read splits at the settler's mark, below which every minute
-- is settled and has received no data since (QueryService::scope_params).
-- The whole minutes of [rollup_from, rollup_to) are left out: a read over
-- {effective_slots} takes them summed from invocation_minutes (an empty
-- range for every other read, and for every scope of traces).
(
    SELECT
        project, function, timestamp, start_time_unix_nano, duration_ns, service, region,
        instance, function_version, trace_id, span_id, is_error, arch, cold, provider,
        memory_mb, has_report, report_billed_ms, report_has_init, report_init_ms,
        billed_ms_aws, billed_ms_azure, billed_ms_gcp
    FROM invocation_facts
    WHERE {scope_selection}
      AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({split_s:UInt32})
      AND start_time_unix_nano >= {from_ns:UInt64} AND start_time_unix_nano < {split_ns:UInt64}
      AND (timestamp < toDateTime({rollup_from_s:UInt32}) OR timestamp >= toDateTime({rollup_to_s:UInt32}))
      AND (toStartOfMinute(timestamp), generation) IN (
          SELECT minute, max(generation)
          FROM invocation_facts_minutes
          WHERE project = {project:String}
            AND minute >= toStartOfMinute(toDateTime({from_s:UInt32}))
            AND minute <= toDateTime({split_s:UInt32})
          GROUP BY minute)
)
