-- Producer and consumer spans that carry a message id or a destination,
-- keyed by message id and destination: the hand-off index for chains whose
-- spans lack links, the source of broken-chain detection (message id set)
-- and of the messaging edges of the service map. role: 1 producer, 2 consumer.
CREATE TABLE IF NOT EXISTS messaging_spans (
    project String,
    timestamp DateTime,
    message_id String,
    destination String,
    role UInt8,
    trace_id FixedString(16),
    span_id FixedString(8),
    service String,
    name String,
    start_time_unix_nano UInt64,
    end_time_unix_nano UInt64,
    status_code UInt8
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, message_id, destination)
SETTINGS index_granularity = 1024
