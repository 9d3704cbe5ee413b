-- The views on spans are dropped before spans is renamed (0073) and created
-- again on the new spans table (0080, 0081) after the one-time copy (0079),
-- so that the copy neither loses nor duplicates their rows.
DROP TABLE IF EXISTS span_links_by_linked_trace_mv
