-- Today in the server's time zone, as YYYYMMDD (partitions are its days).
-- samples:
SELECT toYYYYMMDD(today()) AS today
