-- Service map, messaging: producers publish to a destination, consumers consume from it (per window).
-- params: project = 'default', from_s = 1700000000, to_s = 1800000000
SELECT
    if(role = 1, service, destination) AS source,
    if(role = 1, destination, service) AS target,
    if(role = 1, 'publishes', 'consumes') AS edge_kind,
    count() AS request_count,
    countIf(status_code = 2) AS error_count,
    quantile(0.95)(end_time_unix_nano - start_time_unix_nano) AS p95_duration_ns
FROM messaging_spans
WHERE project = {project:String} AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32}) AND destination != ''
GROUP BY source, target, edge_kind
ORDER BY source, target, edge_kind
LIMIT 1000001
