-- The spans table of 0001 (ordered by service, name and time) makes room for
-- the spans table ordered by trace id. 18.16 has no RENAME IF EXISTS: the
-- migration runner (and the dialect check) run this statement only while
-- spans is still the table of 0001 (trace_spans, dropped by 0082, exists;
-- spans_by_service and span_index, made by 0075, do not). Its rows are also in trace_spans, which
-- 0079 copies; 0083 drops it.
-- only while present: spans, trace_spans
-- only while absent: spans_by_service, span_index
RENAME TABLE spans TO spans_by_service
