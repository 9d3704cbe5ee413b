-- The settler, after settle_invocations.sql: stores the window's invocations summed per minute, under the same generation.
-- params: generation = 1, project = 'default', split_s = 1699999980, to_s = 1700003640, slot_s = 60
-- Summed from the facts just stored, so that both agree; listed with them by settle_minutes.sql.
INSERT INTO invocation_minutes
SELECT {slot_columns}, generation
FROM invocation_facts AS e
WHERE project = {project:String} AND generation = {generation:UInt64}
  AND timestamp >= toDateTime({split_s:UInt32}) AND timestamp < toDateTime({to_s:UInt32})
GROUP BY {slot_keys}, generation
