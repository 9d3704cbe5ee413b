-- One function's Lambda REPORT lines in a window: how many, memory size and memory used.
-- params: project = 'default', function = 'fn-a', from_s = 1700000000, to_s = 1700003600
SELECT
    count() AS reports,
    max(memory_size_mb) AS memory_size_mb,
    max(max_memory_used_mb) AS max_memory_used_mb
FROM platform_reports
WHERE project = {project:String} AND function = {function:String}
  AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
LIMIT 1
