-- Alert state changes and notifications, one row each: transitions of a
-- rule group (kind 'transition'), repeated notifications of a group still
-- firing ('repeat'), and rule health changes ('rule_error', 'rule_ok').
-- A row with notify = 1 is also the delivery outbox: its payload (the
-- Tracehouse webhook body) goes to each of its receivers until an attempt
-- in alert_delivery_attempts is final. One insert records both, so a crash
-- can neither lose a notification nor send one twice under a new id.
-- Partitioned by month and not dropped by retention: the latest row of a
-- group is its state across restarts.
CREATE TABLE IF NOT EXISTS alert_events (
    project String,
    timestamp DateTime,
    time_unix_nano UInt64,
    event_id String,
    kind String,
    rule String,
    fingerprint String,
    function String,
    from_state String,
    to_state String,
    value Float64,
    has_value UInt8,
    threshold Float64,
    active_since_unix_nano UInt64,
    message String,
    notify UInt8,
    receivers Array(String),
    payload String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project, rule, fingerprint, time_unix_nano)
