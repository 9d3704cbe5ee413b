-- When data for each minute of invocations arrived (server time), filled by
-- materialized views on invocations and platform_reports: the settler and
-- every read learn from it which settled minutes received data since.
CREATE TABLE IF NOT EXISTS invocation_arrivals (
    project String,
    minute DateTime,
    arrived_at DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(arrived_at)
ORDER BY (arrived_at, project)
SETTINGS index_granularity = 8192
