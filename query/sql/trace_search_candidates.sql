-- Trace search, step 1: traces with a span matching every span filter (service and name as ranges so the sort key prunes; function; attributes as key=value pairs, span or resource) in the window, newest first matching span first, after a cursor.
-- params: 'default', 1700000000, 1800000000, 1700000000000000000, 1800000000000000000, 'svc1', 'svc1', '', '', '', '\xF4\x8F\xBF\xBF', ['messaging.message.id=5'], 18446744073709551615, 18446744073709551615, '', 20
SELECT trace_id, min(start_time_unix_nano) AS first_match_unix_nano
FROM spans
WHERE project = ?
    AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
    AND start_time_unix_nano >= ? AND start_time_unix_nano <= ?
    AND service >= ? AND service <= ?
    AND (? = '' OR if(resource_values[indexOf(resource_keys, 'faas.name')] != '', resource_values[indexOf(resource_keys, 'faas.name')], service) = ?)
    AND name >= ? AND name <= ?
    AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '=', v), attribute_keys, attribute_values), arrayMap((k, v) -> concat(k, '=', v), resource_keys, resource_values)), ?)
GROUP BY trace_id
HAVING first_match_unix_nano < ? OR (first_match_unix_nano = ? AND lower(hex(trace_id)) < ?)
ORDER BY first_match_unix_nano DESC, trace_id DESC
LIMIT ?
