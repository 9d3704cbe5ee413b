-- A narrow copy of every span for search by service, operation, function
-- and time, and for the service and operation lists: no attributes,
-- events, links or span ids. `function` is the resource's faas.name, else
-- the service. A search with attribute filters checks them in spans.
CREATE TABLE IF NOT EXISTS span_index (
    project String,
    timestamp DateTime,
    start_time_unix_nano UInt64,
    duration_ns UInt64,
    trace_id FixedString(16),
    service String,
    name String,
    function String,
    kind Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5),
    status_code Enum8('unset' = 0, 'ok' = 1, 'error' = 2)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, service, name, timestamp)
SETTINGS index_granularity = 8192
