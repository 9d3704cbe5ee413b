-- Projects with invocations in a window, for the dashboard's project selector.
-- params: 1700000000, 1700003600
SELECT DISTINCT project
FROM invocations
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
ORDER BY project
LIMIT 100
