-- Silences that end after a time (active or still to come), latest start first.
-- params: 'default', 1700000000000000000
SELECT
    project,
    id,
    created_unix_nano,
    starts_at_unix_nano,
    ends_at_unix_nano,
    rule,
    function,
    label_keys,
    label_values,
    comment
FROM alert_silences
WHERE project = ? AND ends_at_unix_nano > ?
ORDER BY starts_at_unix_nano DESC
