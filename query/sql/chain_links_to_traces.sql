-- Spans in other traces that link to a batch of traces (hex ids): the incoming hand-offs of a chain step.
-- params: project = 'default', trace_ids = ['0af7651916cd43dd8448eb211c80319c'], limit = 10001
SELECT DISTINCT linking_trace_id
FROM span_links_by_linked_trace
WHERE project = {project:String} AND linked_trace_id IN (SELECT toFixedString(unhex(arrayJoin({trace_ids:Array(String)})), 16))
LIMIT {limit:UInt64}
