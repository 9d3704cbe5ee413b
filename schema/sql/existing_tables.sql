-- Which of the given tables the current database has.
-- samples: ['spans', 'trace_spans']
SELECT name FROM system.tables
WHERE database = currentDatabase() AND has(?, name)
