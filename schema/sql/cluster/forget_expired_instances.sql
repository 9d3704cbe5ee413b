-- On every shard, deletes the first-start states of instances none of whose
-- invocations on that shard is kept (the states there came from those
-- invocations). Database, first-start table, cluster, database, invocations.
-- samples: tracehouse_check, instance_first_starts_local, tracehouse, tracehouse_check, invocations_local
ALTER TABLE ?.? ON CLUSTER ? DELETE WHERE (project, function, instance) NOT IN
(SELECT project, function, instance FROM ?.?)
