-- OTLP log records. The body is text (a string body as is, any other value
-- as JSON, body_type giving its attribute type code); attributes use the
-- same parallel arrays as spans.
CREATE TABLE IF NOT EXISTS logs (
    project String,
    timestamp DateTime,
    time_unix_nano UInt64,
    observed_time_unix_nano UInt64,
    trace_id FixedString(16),
    span_id FixedString(8),
    flags UInt32,
    severity_number UInt8,
    severity_text String,
    service String,
    body String,
    body_type UInt8,
    event_name String,
    attribute_keys Array(String),
    attribute_values Array(String),
    attribute_types Array(UInt8),
    resource_keys Array(String),
    resource_values Array(String),
    resource_types Array(UInt8),
    scope_name String,
    scope_version String,
    dropped_attributes_count UInt32
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, service, timestamp)
SETTINGS index_granularity = 8192
