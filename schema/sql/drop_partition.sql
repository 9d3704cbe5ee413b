-- Drops one day partition of one table (both allow-listed by the caller).
-- samples: logs, '20231114'
ALTER TABLE ? DROP PARTITION ID ?
