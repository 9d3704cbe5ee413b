-- Every span, ordered for questions asked by service, operation and time.
-- Ids are raw bytes; times are Unix nanoseconds (DateTime64 is not portable),
-- with a second-resolution copy that partitions by day for retention.
-- Attributes are parallel arrays: key, value as text, and a type code
-- (0 string, 1 bool, 2 int, 3 double, 4 bytes as hex, 5 array as JSON,
-- 6 key/value list as JSON, 7 empty).
-- Replaced by the spans table of 0074 (ordered by trace id); not created
-- again once 0073 renamed it or 0075 ran, should migration records be lost.
-- only while absent: spans_by_service, span_index
CREATE TABLE IF NOT EXISTS spans (
    project String,
    timestamp DateTime,
    start_time_unix_nano UInt64,
    end_time_unix_nano UInt64,
    duration_ns UInt64,
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    trace_state String,
    flags UInt32,
    service String,
    name String,
    kind Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5),
    status_code Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    status_message String,
    attribute_keys Array(String),
    attribute_values Array(String),
    attribute_types Array(UInt8),
    resource_keys Array(String),
    resource_values Array(String),
    resource_types Array(UInt8),
    scope_name String,
    scope_version String,
    event_times_unix_nano Array(UInt64),
    event_names Array(String),
    event_attributes Array(String),
    link_trace_ids Array(FixedString(16)),
    link_span_ids Array(FixedString(8)),
    link_trace_states Array(String),
    link_attributes Array(String),
    dropped_attributes_count UInt32,
    dropped_events_count UInt32,
    dropped_links_count UInt32
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, service, name, timestamp)
SETTINGS index_granularity = 8192
