-- The active partitions of the given tables of the current database.
-- samples: ['spans', 'logs']
SELECT table, partition_id FROM system.parts
WHERE database = currentDatabase() AND active AND has(?, table)
GROUP BY table, partition_id
