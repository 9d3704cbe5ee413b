-- Feeds invocation_arrivals from every insert of REPORT lines: a line
-- changes the facts of its invocation, which started before the line by its
-- duration, init and restore (plus a minute of slack for rounding).
CREATE MATERIALIZED VIEW IF NOT EXISTS report_arrivals_mv TO invocation_arrivals AS
SELECT
    project,
    toStartOfMinute(toDateTime(greatest(toInt64(intDiv(time_unix_nano, 1000000000))
        - toInt64(ceil((duration_ms + init_duration_ms + restore_duration_ms) / 1000)) - 60, 0))) AS minute,
    now() AS arrived_at
FROM platform_reports
GROUP BY project, minute
