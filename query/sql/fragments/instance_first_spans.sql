-- Fragment {instance_first_spans}: (function, instance, span id) of the first
-- invocation of each instance of a scope (invocation_scope), the one that is
-- cold when its span did not say: the earlier of its stored first start
-- (instance_first_starts, restricted to the scope's instances: the table keeps
-- every instance ever seen) and its first invocation in the scope.
(
    SELECT o.function, o.instance,
           if(f.has_stored = 1 AND f.stored_start <= o.own_first_start,
              f.stored_span_id, o.own_first_span_id)
    FROM (
        SELECT project, function, instance,
               min(start_time_unix_nano) AS own_first_start,
               argMin(span_id, start_time_unix_nano) AS own_first_span_id
        FROM invocations
        WHERE {invocation_scope} AND instance != ''
        GROUP BY project, function, instance
    ) AS o
    ANY LEFT JOIN (
        SELECT project, function, instance, toUInt8(1) AS has_stored,
               minMerge(first_start_unix_nano) AS stored_start,
               argMinMerge(first_span_id) AS stored_span_id
        FROM instance_first_starts
        WHERE project = {project:String}
          AND {function_filter}
          AND instance IN (SELECT instance FROM invocations WHERE {invocation_scope} AND instance != '')
        GROUP BY project, function, instance
    ) AS f USING (project, function, instance)
)
