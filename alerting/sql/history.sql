-- Alert transitions and notifications, newest first, optionally of one rule.
-- params: project = 'default', rule = '', limit = 100
SELECT
    project,
    timestamp,
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
    active_since_unix_nano,
    message,
    notify,
    receivers,
    payload
FROM alert_events
WHERE project = {project:String} AND ({rule:String} = '' OR rule = {rule:String})
ORDER BY time_unix_nano DESC
LIMIT {limit:UInt64}
