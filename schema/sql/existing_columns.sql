-- How many of the given columns a table of the current database has.
-- samples: 'platform_reports', ['status', 'failed']
SELECT count() AS count FROM system.columns
WHERE database = currentDatabase() AND table = ? AND has(?, name)
