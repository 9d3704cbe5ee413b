-- Feeds invocation_arrivals from every insert into invocations: one row per
-- project and minute of the block.
CREATE MATERIALIZED VIEW IF NOT EXISTS invocation_arrivals_mv TO invocation_arrivals AS
SELECT project, toStartOfMinute(timestamp) AS minute, now() AS arrived_at
FROM invocations
GROUP BY project, minute
