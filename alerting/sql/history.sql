-- Alert transitions and notifications, newest first, optionally of one rule.
-- params: 'default', '', '', 100
SELECT
    time_unix_nano,
    event_id,
    kind,
    rule,
    fingerprint,
    function,
    from_state,
    to_state,
    value,
    has_value,
    threshold,
    message,
    notify
FROM alert_events
WHERE project = ? AND (? = '' OR rule = ?)
ORDER BY time_unix_nano DESC
LIMIT ?
