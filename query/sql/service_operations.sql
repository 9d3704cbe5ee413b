-- Span names and kinds of one service in a time window, with counts.
-- params: 'default', 'svc1', 1700000000, 1800000000
SELECT name, toString(kind) AS span_kind, count() AS span_count
FROM spans
WHERE project = ? AND service = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
GROUP BY name, span_kind
ORDER BY name, span_kind
