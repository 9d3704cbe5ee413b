-- Notifications recorded since a time, for resending those without a final attempt.
-- params: project = 'default', since_s = 1700000000, since_ns = 1700000000000000000
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
WHERE project = {project:String} AND timestamp >= toDateTime({since_s:UInt32})
  AND time_unix_nano >= {since_ns:UInt64} AND notify = 1
ORDER BY time_unix_nano
LIMIT 1000001
