-- Where a project's reads split, part 2: the settled minutes (before settled_until_ns) that received data since since_s, and the earliest of them.
-- params: project = 'default', since_s = 1700000000, settled_until_ns = 1700003600000000000
SELECT count() AS dirty, toUInt32(min(minute)) AS dirty_from_s
FROM invocation_arrivals
WHERE arrived_at >= toDateTime({since_s:UInt32})
  AND project = {project:String}
  AND toUInt64(toUInt32(minute)) * 1000000000 < {settled_until_ns:UInt64}
LIMIT 1
