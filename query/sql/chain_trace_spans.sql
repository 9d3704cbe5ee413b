-- The spans of a batch of traces (hex ids), only the columns a chain needs (the function: faas.name of the resource, else of the span, else the service), read from spans (ordered by trace id) in the seconds trace_time_index gives for them.
-- params: project = 'default', trace_ids = ['0af7651916cd43dd8448eb211c80319c', '5b8efff798038103d269b633813fc60c'], limit = 20001
SELECT
    trace_id, span_id, parent_span_id, service, name, kind, status_code, status_message,
    start_time_unix_nano, end_time_unix_nano, attribute_keys, attribute_values,
    link_trace_ids, link_span_ids,
    if(resource_values[indexOf(resource_keys, 'faas.name')] != '', resource_values[indexOf(resource_keys, 'faas.name')],
       if(attribute_values[indexOf(attribute_keys, 'faas.name')] != '', attribute_values[indexOf(attribute_keys, 'faas.name')],
          service)) AS function_name
FROM spans
WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16))
    AND timestamp >= (SELECT min(first_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
    AND timestamp <= (SELECT max(last_timestamp) FROM trace_time_index WHERE project = {project:String} AND trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16)))
LIMIT {limit:UInt64}
