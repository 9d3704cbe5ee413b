-- Delivery attempts, newest first, optionally of one rule.
-- params: 'default', '', '', 100
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
WHERE project = ? AND (? = '' OR rule = ?)
ORDER BY time_unix_nano DESC
LIMIT ?
