-- Feeds span_index from every insert into spans.
CREATE MATERIALIZED VIEW IF NOT EXISTS span_index_mv TO span_index AS
SELECT
    project, timestamp, start_time_unix_nano, duration_ns, trace_id, service, name,
    if(resource_values[indexOf(resource_keys, 'faas.name')] != '', resource_values[indexOf(resource_keys, 'faas.name')], service) AS function,
    kind, status_code
FROM spans
