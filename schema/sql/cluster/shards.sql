-- The shards of the cluster and how many of them answer (with
-- skip_unavailable_shards, a shard that is down adds no row of system.one).
-- samples: 'tracehouse', 'tracehouse'
SELECT
    (SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = ?) AS shards,
    (SELECT count() FROM cluster(?, system.one)) AS reachable
