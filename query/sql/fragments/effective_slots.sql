-- Fragment {effective_slots}: the invocations of a scope summed per slot
-- ({slot_columns}): the whole settled minutes of [rollup_from, rollup_to) from
-- invocation_minutes (each minute's newest generation), every other
-- invocation of the scope from {effective_invocations} (whose settled half
-- leaves those minutes out), summed per slot here. Templates write
-- FROM {effective_slots} AS s and merge: sum(), max(), quantilesMerge().
(
    SELECT
        project, function, slot, service, provider, region, arch, memory_mb, function_version,
        is_cold, invocation_count, error_count, billed_ms_aws_sum, billed_ms_azure_sum,
        billed_ms_gcp_sum, duration_ns_sum, duration_ns_max, first_start_min, last_start_max,
        duration_ms_state, init_count_sum, init_ms_state
    FROM invocation_minutes
    WHERE project = {project:String}
      AND ({all_functions:UInt8} OR function IN (SELECT arrayJoin(CAST({functions:Array(String)} AS Array(String)))))
      AND {all_traces:UInt8} = 1
      AND slot >= {rollup_from_s:UInt32} AND slot < {rollup_to_s:UInt32}
      AND (toDateTime(slot), generation) IN (
          SELECT minute, max(generation)
          FROM invocation_facts_minutes
          WHERE project = {project:String}
            AND minute >= toDateTime({rollup_from_s:UInt32})
            AND minute < toDateTime({rollup_to_s:UInt32})
          GROUP BY minute)
    UNION ALL
    SELECT {slot_columns}
    FROM {effective_invocations} AS e
    GROUP BY {slot_keys}
)
