-- Traces with producer or consumer spans of a batch of message ids: hand-offs found without links.
-- params: project = 'default', message_ids = ['m-1', 'm-2'], limit = 10001
SELECT DISTINCT trace_id
FROM messaging_spans
WHERE project = {project:String} AND message_id IN (SELECT arrayJoin({message_ids:Array(String)}))
LIMIT {limit:UInt64}
