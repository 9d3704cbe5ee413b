-- The settler: the projects to settle (with a mark, with data arriving since since_s, or, with stored = 1, with any stored invocation) and the server's clock.
-- params: since_s = 1700000000, stored = 0
SELECT project, toUInt32(now()) AS now_s
FROM (
    SELECT DISTINCT project FROM invocation_settle_marks
    UNION ALL
    SELECT DISTINCT project FROM invocation_arrivals WHERE arrived_at >= toDateTime({since_s:UInt32})
    UNION ALL
    SELECT DISTINCT project FROM invocations WHERE {stored:UInt8} = 1
)
GROUP BY project
ORDER BY project
LIMIT 1000001
