-- The same spans ordered by trace id, so that reading one trace touches a few
-- small granules per day partition instead of scanning the spans table
-- (18.16 has no skip indexes). Rows are wide, so granules are small.
-- Copied into spans and dropped by 0079..0082; not created again after 0075.
-- only while absent: span_index
CREATE TABLE IF NOT EXISTS trace_spans AS spans
ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, trace_id, start_time_unix_nano)
SETTINGS index_granularity = 1024
