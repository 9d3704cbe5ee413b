-- Silences that end after a time (active or still to come), latest start first.
-- params: project = 'default', now_ns = 1700000000000000000
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
WHERE project = {project:String} AND ends_at_unix_nano > {now_ns:UInt64}
ORDER BY starts_at_unix_nano DESC
LIMIT 1000001
