-- Delivery attempts, newest first, optionally of one rule.
-- params: project = 'default', rule = '', limit = 100
SELECT
    project,
    timestamp,
    time_unix_nano,
    delivery_id,
    event_id,
    receiver,
    rule,
    fingerprint,
    status,
    attempt,
    outcome,
    http_status,
    latency_ms,
    error,
    is_final
FROM alert_delivery_attempts
WHERE project = {project:String} AND ({rule:String} = '' OR rule = {rule:String})
ORDER BY time_unix_nano DESC
LIMIT {limit:UInt64}
