-- Trace search, narrowed windows: the first second of each of a batch of traces (hex ids), from trace_time_index, to tell traces that may have spans before a narrowed window.
-- params: project = 'default', trace_ids = ['0af7651916cd43dd8448eb211c80319c', '5b8efff798038103d269b633813fc60c']
SELECT trace_id, toUInt32(min(first_timestamp)) AS first_second
FROM trace_time_index
WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16))
GROUP BY trace_id
LIMIT 1000001
