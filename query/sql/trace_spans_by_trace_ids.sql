-- All spans of a batch of traces (hex ids), read from spans (ordered by trace id) in the seconds trace_time_index gives for them.
-- params: project = 'default', trace_ids = ['0af7651916cd43dd8448eb211c80319c', '5b8efff798038103d269b633813fc60c'], limit = 100001
SELECT ?fields
FROM spans
WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16))
    AND timestamp >= (SELECT min(first_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
    AND timestamp <= (SELECT max(last_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
ORDER BY trace_id, start_time_unix_nano, span_id
LIMIT {limit:UInt64}
