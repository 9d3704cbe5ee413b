-- Trace search: traces with a span matching every filter (service, function, name, attributes) (attributes as 'key=value', span or resource) that started in the window, summarized from trace_spans, filtered by status and duration, newest first, after a cursor (start, trace id).
-- params: 'default', 'default', 1700000000, 1800000000, 1700000000000000000, 1800000000000000000, 'svc1', 'svc1', '', '', 'op', 'op', ['messaging.message.id=5'], 0, 0, 18446744073709551615, 18446744073709551615, 18446744073709551615, '', 20
SELECT
    trace_id,
    if(countIf(parent_span_id = toFixedString(unhex('0000000000000000'), 8)) > 0,
       argMinIf(service, start_time_unix_nano, parent_span_id = toFixedString(unhex('0000000000000000'), 8)),
       argMin(service, start_time_unix_nano)) AS root_service,
    if(countIf(parent_span_id = toFixedString(unhex('0000000000000000'), 8)) > 0,
       argMinIf(name, start_time_unix_nano, parent_span_id = toFixedString(unhex('0000000000000000'), 8)),
       argMin(name, start_time_unix_nano)) AS root_name,
    min(start_time_unix_nano) AS trace_start_unix_nano,
    max(end_time_unix_nano) AS trace_end_unix_nano,
    count() AS span_count,
    countIf(status_code = 'error') AS error_count,
    groupUniqArray(service) AS services
FROM trace_spans
WHERE project = ? AND trace_id IN (
    SELECT trace_id
    FROM spans
    WHERE project = ?
        AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
        AND start_time_unix_nano >= ? AND start_time_unix_nano <= ?
        AND (? = '' OR service = ?)
        AND (? = '' OR if(resource_values[indexOf(resource_keys, 'faas.name')] != '', resource_values[indexOf(resource_keys, 'faas.name')], service) = ?)
        AND (? = '' OR name = ?)
        AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '=', v), attribute_keys, attribute_values), arrayMap((k, v) -> concat(k, '=', v), resource_keys, resource_values)), ?)
)
GROUP BY trace_id
HAVING (? = 0 OR error_count > 0)
    AND trace_end_unix_nano - trace_start_unix_nano >= ?
    AND trace_end_unix_nano - trace_start_unix_nano <= ?
    AND (trace_start_unix_nano < ? OR (trace_start_unix_nano = ? AND lower(hex(trace_id)) < ?))
ORDER BY trace_start_unix_nano DESC, trace_id DESC
LIMIT ?
