-- 0021 again, on the spans table of 0074: one row per span link, keyed by
-- the linked trace. ARRAY JOIN skips spans without links.
CREATE MATERIALIZED VIEW IF NOT EXISTS span_links_by_linked_trace_mv TO span_links_by_linked_trace AS
SELECT
    project,
    timestamp,
    linked_trace_id,
    linked_span_id,
    trace_id AS linking_trace_id,
    span_id AS linking_span_id,
    service AS linking_service,
    toUInt8(status_code) AS linking_status_code,
    duration_ns AS linking_duration_ns,
    if(attribute_values[indexOf(attribute_keys, 'messaging.message.id')] != '',
       attribute_values[indexOf(attribute_keys, 'messaging.message.id')],
       attribute_values[indexOf(attribute_keys, 'messaging.message_id')]) AS linking_message_id
FROM spans
ARRAY JOIN link_trace_ids AS linked_trace_id, link_span_ids AS linked_span_id
