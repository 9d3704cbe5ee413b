-- Every span, stored once, ordered by trace id: a trace (or a batch of them,
-- a chain step, search summaries) reads a few granules per part of the days
-- it lies in (trace_time_index, 0077, gives those days). Search by service,
-- operation and time reads the narrow span_index (0075) instead. Columns as
-- in 0001 (ids are raw bytes; times are Unix nanoseconds with a
-- second-resolution copy that partitions by day for retention; attributes
-- are parallel arrays of key, value as text and type code). On a cluster,
-- a trace lives on one shard: shard by cityHash64(trace_id).
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
ORDER BY (project, trace_id, start_time_unix_nano)
SETTINGS index_granularity = 1024
