-- Every applied migration version, in order (none when the table is empty).
-- samples: schema_migrations
SELECT DISTINCT version FROM ? ORDER BY version
