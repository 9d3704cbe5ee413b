-- Feeds trace_time_index from every insert into spans.
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_time_index_mv TO trace_time_index AS
SELECT project, trace_id, min(timestamp) AS first_timestamp, max(timestamp) AS last_timestamp
FROM spans
GROUP BY project, trace_id
