-- The latest transition of every rule group, and its last firing notification.
-- params: project = 'default'
SELECT
    rule,
    fingerprint,
    argMaxIf(function, time_unix_nano, kind = 'transition') AS last_function,
    argMaxIf(to_state, time_unix_nano, kind = 'transition') AS last_state,
    maxIf(time_unix_nano, kind = 'transition') AS last_since,
    argMaxIf(active_since_unix_nano, time_unix_nano, kind = 'transition') AS last_active_since,
    argMaxIf(value, time_unix_nano, kind = 'transition') AS last_value,
    argMaxIf(has_value, time_unix_nano, kind = 'transition') AS last_has_value,
    argMaxIf(message, time_unix_nano, kind = 'transition') AS last_message,
    maxIf(time_unix_nano, notify = 1 AND to_state = 'firing') AS last_notified,
    argMaxIf(payload, time_unix_nano, notify = 1 AND to_state = 'firing') AS last_firing_payload,
    argMaxIf(receivers, time_unix_nano, notify = 1 AND to_state = 'firing') AS last_firing_receivers
FROM alert_events
WHERE project = {project:String}
GROUP BY rule, fingerprint
HAVING last_since > 0
ORDER BY rule, fingerprint
LIMIT 1000001
