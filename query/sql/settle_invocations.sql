-- The settler: stores the invocations of a window, as the live_invocations fragment gives them, under a generation.
-- params: generation = 1, project = 'default', all_functions = 1, functions = [], all_traces = 1, trace_ids = [], split_s = 1699999980, to_s = 1700003640, split_ns = 1699999980000000000, to_ns = 1700003640000000000
-- The window is [split, to); the minutes are then listed in invocation_facts_minutes under the generation.
INSERT INTO invocation_facts
SELECT
    project, function, timestamp, start_time_unix_nano, duration_ns, service, region,
    instance, function_version, trace_id, span_id, is_error, arch, cold, provider,
    memory_mb, has_report, report_billed_ms, report_has_init, report_init_ms,
    billed_ms_aws, billed_ms_azure, billed_ms_gcp, {generation:UInt64} AS generation
FROM ({live_invocations}) AS e
