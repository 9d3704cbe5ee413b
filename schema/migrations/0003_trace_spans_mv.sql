-- Copies every inserted span into trace_spans. Columns are listed, not `*`,
-- so a column added to spans later does not silently change this view.
-- Dropped by 0070; not created again after 0075.
-- only while absent: span_index
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_spans_mv TO trace_spans AS
SELECT
    project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns,
    trace_id, span_id, parent_span_id, trace_state, flags, service, name, kind,
    status_code, status_message, attribute_keys, attribute_values, attribute_types,
    resource_keys, resource_values, resource_types, scope_name, scope_version,
    event_times_unix_nano, event_names, event_attributes, link_trace_ids,
    link_span_ids, link_trace_states, link_attributes, dropped_attributes_count,
    dropped_events_count, dropped_links_count
FROM spans
