-- Notifications recorded since a time, for resending those without a final attempt.
-- params: 'default', 1700000000, 1700000000000000000
SELECT
    event_id,
    time_unix_nano,
    rule,
    fingerprint,
    function,
    to_state,
    receivers,
    payload
FROM alert_events
WHERE project = ? AND timestamp >= ? AND time_unix_nano >= ? AND notify = 1
ORDER BY time_unix_nano
