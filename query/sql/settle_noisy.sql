-- The settler: the earliest minute of a project that received data since since_s (still arriving: not settled yet; none: found = 0).
-- params: project = 'default', since_s = 1700000000
SELECT count() AS found, toUInt32(min(minute)) AS minute_s
FROM invocation_arrivals
WHERE arrived_at >= toDateTime({since_s:UInt32}) AND project = {project:String}
LIMIT 1
