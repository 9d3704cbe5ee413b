-- Drops one day partition of one local table on every shard (database,
-- table, cluster, partition id; all allow-listed by the caller).
-- samples: tracehouse_check, logs_local, tracehouse, '20231114'
ALTER TABLE ?.? ON CLUSTER ? DROP PARTITION ID ?
