-- 0023 again, on the spans table of 0074.
-- Messaging spans of both semantic conventions: messaging.message.id (new)
-- or messaging.message_id (old); messaging.destination.name (new) or
-- messaging.destination (old); the role from the span kind, else from
-- messaging.operation.type (new) or messaging.operation (old).
CREATE MATERIALIZED VIEW IF NOT EXISTS messaging_spans_mv TO messaging_spans AS
SELECT
    project,
    timestamp,
    if(attribute_values[indexOf(attribute_keys, 'messaging.message.id')] != '',
       attribute_values[indexOf(attribute_keys, 'messaging.message.id')],
       attribute_values[indexOf(attribute_keys, 'messaging.message_id')]) AS message_id,
    if(attribute_values[indexOf(attribute_keys, 'messaging.destination.name')] != '',
       attribute_values[indexOf(attribute_keys, 'messaging.destination.name')],
       attribute_values[indexOf(attribute_keys, 'messaging.destination')]) AS destination,
    toUInt8(multiIf(
        kind = 'producer', 1,
        kind = 'consumer', 2,
        has(['publish', 'send', 'create'], if(attribute_values[indexOf(attribute_keys, 'messaging.operation.type')] != '', attribute_values[indexOf(attribute_keys, 'messaging.operation.type')], attribute_values[indexOf(attribute_keys, 'messaging.operation')])), 1,
        has(['receive', 'process', 'deliver'], if(attribute_values[indexOf(attribute_keys, 'messaging.operation.type')] != '', attribute_values[indexOf(attribute_keys, 'messaging.operation.type')], attribute_values[indexOf(attribute_keys, 'messaging.operation')])), 2,
        0)) AS role,
    trace_id,
    span_id,
    service,
    name,
    start_time_unix_nano,
    end_time_unix_nano,
    toUInt8(status_code) AS status_code
FROM spans
WHERE (message_id != '' OR destination != '') AND role != 0
