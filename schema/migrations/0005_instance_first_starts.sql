-- The first invocation seen on each function instance, kept as aggregate
-- states so that every insert (from any batch, any collector process, before
-- or after a restart) merges into the same answer. The invocation whose span
-- id is argMin(span_id, start) is the instance's cold start when its span did
-- not say. Not partitioned: one small row per instance, and an instance's
-- first start stays its first start after retention drops its invocations.
CREATE TABLE IF NOT EXISTS instance_first_starts (
    project String,
    function String,
    instance String,
    first_start_unix_nano AggregateFunction(min, UInt64),
    first_span_id AggregateFunction(argMin, FixedString(8), UInt64)
) ENGINE = AggregatingMergeTree()
ORDER BY (project, function, instance)
SETTINGS index_granularity = 8192
