-- All spans of one trace, read from spans (ordered by trace id) in the seconds trace_time_index gives, so that only the trace's days are read.
-- params: project = 'default', trace_id = '0af7651916cd43dd8448eb211c80319c'
SELECT ?fields
FROM spans
WHERE project = {project:String} AND trace_id = toFixedString(unhex({trace_id:String}), 16)
    AND timestamp >= (SELECT min(first_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id = toFixedString(unhex({trace_id:String}), 16))
    AND timestamp <= (SELECT max(last_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id = toFixedString(unhex({trace_id:String}), 16))
ORDER BY start_time_unix_nano, span_id
LIMIT 1000001
