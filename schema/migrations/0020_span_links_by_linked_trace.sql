-- Span links indexed by the trace they point to, so that a chain query can
-- ask which spans link to a trace without scanning spans. (Links a
-- trace points to are read with the trace itself from trace_spans.)
-- Small rows and a small granularity: a lookup reads a few granules per day.
-- The linking span's service, status, duration and message id (empty when it
-- has none) let the service map count consumers that only link to messages.
CREATE TABLE IF NOT EXISTS span_links_by_linked_trace (
    project String,
    timestamp DateTime,
    linked_trace_id FixedString(16),
    linked_span_id FixedString(8),
    linking_trace_id FixedString(16),
    linking_span_id FixedString(8),
    linking_service String,
    linking_status_code UInt8,
    linking_duration_ns UInt64,
    linking_message_id String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, linked_trace_id, linked_span_id)
SETTINGS index_granularity = 1024
