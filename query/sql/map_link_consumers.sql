-- Service map, consumers known only by a link: spans without a message id that link to a producer span consume from its destination (per window, one count per linked message).
-- params: project = 'default', from_s = 1700000000, to_s = 1800000000
SELECT
    destination AS source,
    linking_service AS target,
    count() AS request_count,
    countIf(linking_status_code = 2) AS error_count,
    quantile(0.95)(linking_duration_ns) AS p95_duration_ns
-- Joined on a hash of (trace id, span id), as map_calls.sql is; the pair is compared after.
FROM (
    SELECT cityHash64(linked_trace_id, linked_span_id) AS link_key,
        linked_trace_id AS consumer_trace_id, linked_span_id AS consumer_span_id,
        linking_service, linking_status_code, linking_duration_ns
    FROM span_links_by_linked_trace
    WHERE project = {project:String} AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
        AND linking_message_id = ''
) AS consumer
ALL INNER JOIN (
    SELECT cityHash64(trace_id, span_id) AS link_key, trace_id AS producer_trace_id,
        span_id AS producer_span_id, destination
    FROM messaging_spans
    WHERE project = {project:String} AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
        AND role = 1 AND destination != ''
) AS producer
USING (link_key)
WHERE consumer_trace_id = producer_trace_id AND consumer_span_id = producer_span_id
GROUP BY source, target
ORDER BY source, target
LIMIT 1000001
