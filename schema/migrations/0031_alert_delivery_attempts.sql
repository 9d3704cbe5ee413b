-- Every attempt to deliver a notification to a receiver: outcome
-- ('delivered', 'retry', 'failed', 'gave_up', 'silenced'), HTTP status,
-- latency and error. is_final = 1 ends the delivery; deliveries without a
-- final attempt are resent after a restart under the same delivery id.
CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
    project String,
    timestamp DateTime,
    time_unix_nano UInt64,
    delivery_id String,
    event_id String,
    receiver String,
    rule String,
    fingerprint String,
    status String,
    attempt UInt32,
    outcome String,
    http_status UInt16,
    latency_ms Float64,
    error String,
    is_final UInt8
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project, time_unix_nano)
