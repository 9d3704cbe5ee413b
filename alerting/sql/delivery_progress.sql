-- Per delivery since a time: attempts made and whether one was final.
-- params: project = 'default', since_s = 1700000000
SELECT
    delivery_id,
    max(attempt) AS attempts,
    max(is_final) AS finished
FROM alert_delivery_attempts
WHERE project = {project:String} AND timestamp >= toDateTime({since_s:UInt32})
GROUP BY delivery_id
LIMIT 1000001
