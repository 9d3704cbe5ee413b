-- Spans are stored once, ordered by trace id (0074): the copy of every span
-- into trace_spans stops. This and 0071..0083 move an existing database to
-- that layout; on a new database they run right after the tables they
-- replace were created, on empty tables.
DROP TABLE IF EXISTS trace_spans_mv
