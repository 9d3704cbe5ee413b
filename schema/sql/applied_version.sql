-- The highest applied migration version (0 when none).
-- samples: schema_migrations
SELECT max(version) AS version FROM ?
