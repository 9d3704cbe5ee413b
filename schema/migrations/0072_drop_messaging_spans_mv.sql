-- See 0071.
DROP TABLE IF EXISTS messaging_spans_mv
