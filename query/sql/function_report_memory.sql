-- One function's Lambda REPORT lines in a window: how many, memory size and memory used.
-- params: 'default', 'resize', 1700000000, 1700003600
SELECT
    count() AS reports,
    max(memory_size_mb) AS memory_size_mb,
    max(max_memory_used_mb) AS max_memory_used_mb
FROM platform_reports
WHERE project = ? AND function = ?
  AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
