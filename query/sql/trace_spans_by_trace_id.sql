-- All spans of one trace, read from the table ordered by trace id.
-- params: project = 'default', trace_id = '0af7651916cd43dd8448eb211c80319c'
SELECT ?fields
FROM trace_spans
WHERE project = {project:String} AND trace_id = toFixedString(unhex({trace_id:String}), 16)
ORDER BY start_time_unix_nano, span_id
LIMIT 1000001
