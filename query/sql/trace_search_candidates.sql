-- Trace search, step 1: traces with a span matching every span filter (service and name as ranges so the sort key of span_index prunes; function; attributes as key=value pairs, span or resource, checked in spans only when given) in the window, newest first matching span first, after a cursor.
-- params: project = 'default', from_s = 1700000000, to_s = 1800000000, from_ns = 1700000000000000000, to_ns = 1800000000000000000, service_low = 'svc1', service_high = 'svc1', function = '', name_low = '', name_high = '\xF4\x8F\xBF\xBF', attributes = ['messaging.message.id=5'], cursor_start_ns = 18446744073709551615, cursor_trace_id = '', limit = 20
SELECT trace_id, min(start_time_unix_nano) AS first_match_unix_nano
FROM span_index
WHERE project = {project:String}
    AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
    AND start_time_unix_nano >= {from_ns:UInt64} AND start_time_unix_nano <= {to_ns:UInt64}
    AND service >= {service_low:String} AND service <= {service_high:String}
    AND ({function:String} = '' OR function = {function:String})
    AND name >= {name_low:String} AND name <= {name_high:String}
    AND (empty({attributes:Array(String)}) OR (trace_id, service, name, start_time_unix_nano) IN (
        SELECT trace_id, service, name, start_time_unix_nano
        FROM spans
        WHERE project = if(empty({attributes:Array(String)}), '', {project:String})
            AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
            AND start_time_unix_nano >= {from_ns:UInt64} AND start_time_unix_nano <= {to_ns:UInt64}
            AND service >= {service_low:String} AND service <= {service_high:String}
            AND name >= {name_low:String} AND name <= {name_high:String}
            AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '=', v), attribute_keys, attribute_values), arrayMap((k, v) -> concat(k, '=', v), resource_keys, resource_values)), {attributes:Array(String)})))
GROUP BY trace_id
HAVING first_match_unix_nano < {cursor_start_ns:UInt64} OR (first_match_unix_nano = {cursor_start_ns:UInt64} AND lower(hex(trace_id)) < {cursor_trace_id:String})
ORDER BY first_match_unix_nano DESC, trace_id DESC
LIMIT {limit:UInt64}
