-- When each trace has spans: one row per trace and insert block, ordered by
-- trace id. A lookup by trace id reads it first (a few small granules per
-- day) and then reads spans only in the days between the first and last
-- second, instead of one granule of wide rows in every day partition.
CREATE TABLE IF NOT EXISTS trace_time_index (
    project String,
    trace_id FixedString(16),
    first_timestamp DateTime,
    last_timestamp DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(first_timestamp)
ORDER BY (project, trace_id)
SETTINGS index_granularity = 1024
