-- The settler, after settle_invocations.sql: lists the minutes of a window that a generation holds facts for.
-- params: generation = 1, project = 'default', split_s = 1699999980, to_s = 1700003640
-- Written only once all facts of the generation are in: a read takes a minute's newest listed generation.
INSERT INTO invocation_facts_minutes
SELECT project, toStartOfMinute(timestamp) AS minute, generation
FROM invocation_facts
WHERE project = {project:String} AND generation = {generation:UInt64}
  AND timestamp >= toDateTime({split_s:UInt32}) AND timestamp < toDateTime({to_s:UInt32})
GROUP BY project, minute, generation
