-- Services with spans in a time window (only the first sort key columns are read).
-- params: 'default', 1700000000, 1800000000
SELECT DISTINCT service
FROM spans
WHERE project = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
ORDER BY service
