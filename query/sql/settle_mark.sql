-- Where a project's reads split between settled and live invocations, part 1: the settler's newest mark (settled_until_unix_nano = 0: nothing is settled).
-- params: project = 'default'
SELECT
    argMax(settled_until_unix_nano, written_unix_nano) AS settled_until_unix_nano,
    toUInt32(argMax(pass_started_at, written_unix_nano)) AS pass_started_s
FROM invocation_settle_marks
WHERE project = {project:String}
LIMIT 1
