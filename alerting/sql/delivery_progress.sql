-- Per delivery since a time: attempts made and whether one was final.
-- params: 'default', 1700000000
SELECT
    delivery_id,
    max(attempt) AS attempts,
    max(is_final) AS finished
FROM alert_delivery_attempts
WHERE project = ? AND timestamp >= ?
GROUP BY delivery_id
