-- Projects with invocations in a window, for the dashboard's project selector.
-- params: from_s = 1700000000, to_s = 1700003600
SELECT DISTINCT project
FROM invocations
WHERE timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
ORDER BY project
LIMIT 100
