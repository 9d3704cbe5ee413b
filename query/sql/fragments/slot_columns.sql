-- Fragment {slot_columns}: invocations summed per slot (slot_s seconds: a
-- minute for the settler) of their start, function and the traits reads group
-- by; the select list of a read FROM invocation_facts or
-- ({live_invocations}) AS e, grouped BY {slot_keys}. Its columns are those of
-- invocation_minutes, in the same order: sums and extremes add up, the
-- percentile states merge (quantilesMerge), over any set of slots.
    project, function,
    toUInt32(intDiv(toUInt32(timestamp), {slot_s:UInt32}) * {slot_s:UInt32}) AS slot,
    service, provider, region, arch, memory_mb, function_version, toUInt8(cold) AS is_cold,
    count() AS invocation_count,
    toUInt64(sum(is_error)) AS error_count,
    toUInt64(sum(billed_ms_aws)) AS billed_ms_aws_sum,
    toUInt64(sum(billed_ms_azure)) AS billed_ms_azure_sum,
    toUInt64(sum(billed_ms_gcp)) AS billed_ms_gcp_sum,
    toUInt64(sum(duration_ns)) AS duration_ns_sum,
    max(duration_ns) AS duration_ns_max,
    min(start_time_unix_nano) AS first_start_min,
    max(start_time_unix_nano) AS last_start_max,
    quantilesState(0.5, 0.95, 0.99)(duration_ns / 1000000) AS duration_ms_state,
    toUInt64(sum(report_has_init)) AS init_count_sum,
    quantilesIfState(0.5, 0.95)(report_init_ms, report_has_init = 1) AS init_ms_state
