-- Broken hand-offs since a time: messages produced but never consumed (waited longer than the allowed wait) and messages whose consumers failed N times without success. Producers that a consumer links to count as consumed.
-- params: project = 'default', since_s = 1700000000, from_ns = 1700000000000000000, to_ns = 1800000000000000000, lost_before_ns = 1700000000000000000, max_failed_deliveries = 3, limit = 100
SELECT
    message_id,
    if(anyIf(destination, role = 1) != '', anyIf(destination, role = 1), any(destination)) AS message_destination,
    countIf(role = 1) AS produced,
    countIf(role = 1 AND (trace_id, span_id) IN (
        SELECT linked_trace_id, linked_span_id
        FROM span_links_by_linked_trace
        WHERE project = {project:String} AND timestamp >= toDateTime({since_s:UInt32})
    )) AS linked_producers,
    countIf(role = 2) AS consumed,
    countIf(role = 2 AND status_code = 2) AS failed_deliveries,
    if(produced > 0, minIf(start_time_unix_nano, role = 1), min(start_time_unix_nano)) AS published_unix_nano,
    if(failed_deliveries > 0, argMaxIf(trace_id, start_time_unix_nano, role = 2 AND status_code = 2), argMinIf(trace_id, start_time_unix_nano, role = 1)) AS broken_trace_id,
    if(failed_deliveries > 0, argMaxIf(span_id, start_time_unix_nano, role = 2 AND status_code = 2), argMinIf(span_id, start_time_unix_nano, role = 1)) AS broken_span_id,
    if(failed_deliveries > 0, argMaxIf(service, start_time_unix_nano, role = 2 AND status_code = 2), argMinIf(service, start_time_unix_nano, role = 1)) AS broken_service,
    if(failed_deliveries > 0, argMaxIf(name, start_time_unix_nano, role = 2 AND status_code = 2), argMinIf(name, start_time_unix_nano, role = 1)) AS broken_name
FROM messaging_spans
WHERE project = {project:String} AND timestamp >= toDateTime({since_s:UInt32}) AND message_id != ''
  -- The messages that are broken but for a link to their producer, found
  -- first without the link lookup, which then runs for their spans only; by
  -- a hash of the id, cheaper to group by (a collision only adds a message
  -- that the conditions below then leave out).
  AND cityHash64(message_id) IN (
      SELECT cityHash64(message_id) AS message
      FROM messaging_spans
      WHERE project = {project:String} AND timestamp >= toDateTime({since_s:UInt32}) AND message_id != ''
      GROUP BY message
      HAVING if(countIf(role = 1) > 0, minIf(start_time_unix_nano, role = 1), min(start_time_unix_nano))
                 BETWEEN {from_ns:UInt64} AND {to_ns:UInt64}
          AND ((countIf(role = 1) > 0 AND countIf(role = 2) = 0
                AND minIf(start_time_unix_nano, role = 1) <= {lost_before_ns:UInt64})
              OR (countIf(role = 2 AND status_code = 2) >= {max_failed_deliveries:UInt64}
                  AND countIf(role = 2 AND status_code != 2) = 0)))
GROUP BY message_id
HAVING published_unix_nano >= {from_ns:UInt64} AND published_unix_nano <= {to_ns:UInt64}
    AND ((produced > 0 AND consumed = 0 AND linked_producers = 0 AND published_unix_nano <= {lost_before_ns:UInt64})
        OR (failed_deliveries >= {max_failed_deliveries:UInt64} AND countIf(role = 2 AND status_code != 2) = 0))
ORDER BY published_unix_nano DESC, message_id
LIMIT {limit:UInt64}
