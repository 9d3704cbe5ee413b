-- Fragment {effective_slots}: the invocations of a scope summed per slot
-- ({slot_columns}): the whole settled minutes of [rollup_from, rollup_to) from
-- invocation_minutes (each minute's newest generation), the other settled
-- invocations straight from invocation_facts ({settled_facts} leaves those
-- minutes out), and the live ones ({live_invocations}), the last two summed per
-- slot here. Templates write FROM {effective_slots} AS s and merge: sum(),
-- max(), quantilesMerge(). Each part is a SELECT of the UNION itself, with as
-- few subqueries under it as it can have (see {effective_invocations}).
(
    SELECT
        project, function, slot, service, provider, region, arch, memory_mb, function_version,
        is_cold, invocation_count, error_count, billed_ms_aws_sum, billed_ms_azure_sum,
        billed_ms_gcp_sum, duration_ns_sum, duration_ns_max, first_start_min, last_start_max,
        duration_ms_state, init_count_sum, init_ms_state
    FROM invocation_minutes
    WHERE project = {project:String}
      AND {function_filter}
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
    FROM invocation_facts
    WHERE {settled_facts}
    GROUP BY {slot_keys}
    UNION ALL
    SELECT {slot_columns}
    FROM ({live_invocations}) AS e
    GROUP BY {slot_keys}
)
