-- Feeds instance_first_starts from every insert into invocations.
CREATE MATERIALIZED VIEW IF NOT EXISTS instance_first_starts_mv TO instance_first_starts AS
SELECT
    project,
    function,
    instance,
    minState(start_time_unix_nano) AS first_start_unix_nano,
    argMinState(span_id, start_time_unix_nano) AS first_span_id
FROM invocations
WHERE instance != ''
GROUP BY project, function, instance
