-- One-time copy of the spans stored before 0074 (trace_spans holds every
-- one of them, already ordered by trace id) into spans; the views of 0076
-- and 0078 index them on the way. It runs only while trace_spans exists;
-- 0082 drops trace_spans right after. Traces already in trace_time_index
-- are skipped, so a run again after a crash between the copy and its
-- record does not copy them twice (on the first run the index is empty).
-- only while present: trace_spans
INSERT INTO spans
SELECT
    project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns,
    trace_id, span_id, parent_span_id, trace_state, flags, service, name, kind,
    status_code, status_message, attribute_keys, attribute_values, attribute_types,
    resource_keys, resource_values, resource_types, scope_name, scope_version,
    event_times_unix_nano, event_names, event_attributes, link_trace_ids,
    link_span_ids, link_trace_states, link_attributes, dropped_attributes_count,
    dropped_events_count, dropped_links_count
FROM trace_spans
WHERE (project, trace_id) NOT IN (SELECT project, trace_id FROM trace_time_index)
