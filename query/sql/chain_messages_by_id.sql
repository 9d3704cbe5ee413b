-- Traces with producer or consumer spans of a batch of message ids: hand-offs found without links.
-- params: 'default', ['m-1', 'm-2'], 10001
SELECT DISTINCT trace_id
FROM messaging_spans
WHERE project = ? AND message_id IN (SELECT arrayJoin(?))
LIMIT ?
