-- Span names and kinds of one service in a time window, with counts. From span_index.
-- params: project = 'default', service = 'svc1', from_s = 1700000000, to_s = 1800000000
SELECT name, toString(kind) AS span_kind, count() AS span_count
FROM span_index
WHERE project = {project:String} AND service = {service:String} AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
GROUP BY name, span_kind
ORDER BY name, span_kind
LIMIT 1000001
