-- Trace search, step 2: whole-trace summaries of a batch of traces (hex ids), read from spans (ordered by trace id) in the seconds trace_time_index gives for them.
-- params: project = 'default', trace_ids = ['0af7651916cd43dd8448eb211c80319c', '5b8efff798038103d269b633813fc60c']
SELECT
    trace_id,
    if(countIf(parent_span_id = toFixedString(unhex('0000000000000000'), 8)) > 0,
       argMinIf(service, start_time_unix_nano, parent_span_id = toFixedString(unhex('0000000000000000'), 8)),
       argMin(service, start_time_unix_nano)) AS root_service,
    if(countIf(parent_span_id = toFixedString(unhex('0000000000000000'), 8)) > 0,
       argMinIf(name, start_time_unix_nano, parent_span_id = toFixedString(unhex('0000000000000000'), 8)),
       argMin(name, start_time_unix_nano)) AS root_name,
    min(start_time_unix_nano) AS trace_start_unix_nano,
    max(end_time_unix_nano) AS trace_end_unix_nano,
    count() AS span_count,
    countIf(status_code = 'error') AS error_count,
    groupUniqArray(service) AS services
FROM spans
WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16))
    AND timestamp >= (SELECT min(first_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
    AND timestamp <= (SELECT max(last_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
GROUP BY trace_id
LIMIT 1000001
