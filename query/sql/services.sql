-- Services with spans in a time window, from span_index (only the first sort key columns are read).
-- params: project = 'default', from_s = 1700000000, to_s = 1800000000
SELECT DISTINCT service
FROM span_index
WHERE project = {project:String} AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
ORDER BY service
LIMIT 1000001
