-- All spans of one trace, read from the table ordered by trace id.
-- params: 'default', '0af7651916cd43dd8448eb211c80319c'
SELECT ?fields
FROM trace_spans
WHERE project = ? AND trace_id = toFixedString(unhex(?), 16)
ORDER BY start_time_unix_nano, span_id
