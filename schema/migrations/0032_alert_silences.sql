-- Silences: while one matches (rule, function, labels; empty matches any)
-- between its start and end, notifications are recorded but not sent.
CREATE TABLE IF NOT EXISTS alert_silences (
    project String,
    id String,
    created_unix_nano UInt64,
    starts_at_unix_nano UInt64,
    ends_at_unix_nano UInt64,
    rule String,
    function String,
    label_keys Array(String),
    label_values Array(String),
    comment String
) ENGINE = MergeTree()
ORDER BY (project, id)
