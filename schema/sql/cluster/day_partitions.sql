-- The active partitions of the given local tables of a database, on every
-- node of the cluster (cluster name, database, tables).
-- samples: tracehouse, 'tracehouse_check', ['spans_local', 'logs_local']
SELECT table, partition_id FROM cluster(?, system.parts)
WHERE database = ? AND active AND has(?, table)
GROUP BY table, partition_id
