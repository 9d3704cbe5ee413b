-- Copied into spans by 0079.
DROP TABLE IF EXISTS trace_spans
