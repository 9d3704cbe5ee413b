-- Whether the server knows a setting (1) or not (0), for settings of newer
-- versions that are used where they exist.
-- samples: 'deduplicate_blocks_in_dependent_materialized_views'
SELECT count() AS count FROM system.settings WHERE name = ?
