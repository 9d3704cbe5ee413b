-- The spans table of 0001, renamed by 0073: every row of it was also in
-- trace_spans, which 0079 copied into spans.
DROP TABLE IF EXISTS spans_by_service
