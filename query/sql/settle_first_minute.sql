-- The settler: where a project without a mark starts, the minute of its first stored invocation (none: found = 0).
-- params: project = 'default'
SELECT count() AS found, toUInt32(toStartOfMinute(min(timestamp))) AS minute_s
FROM invocations
WHERE project = {project:String}
LIMIT 1
