-- Fragment {settled_facts}: the condition on invocation_facts rows of the
-- settled half of a scope, [from, split): {scope_selection}, each minute
-- under its newest generation (invocation_facts_minutes lists a generation
-- only once all its facts are written), leaving out the whole minutes of
-- [rollup_from, rollup_to), which a read over {effective_slots} takes summed
-- from invocation_minutes (an empty range for every other read, and for every
-- scope of traces).
{scope_selection}
AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({split_s:UInt32})
AND start_time_unix_nano >= {from_ns:UInt64} AND start_time_unix_nano < {split_ns:UInt64}
AND (timestamp < toDateTime({rollup_from_s:UInt32}) OR timestamp >= toDateTime({rollup_to_s:UInt32}))
AND (toStartOfMinute(timestamp), generation) IN (
    SELECT minute, max(generation)
    FROM invocation_facts_minutes
    WHERE project = {project:String}
      AND minute >= toStartOfMinute(toDateTime({from_s:UInt32}))
      AND minute <= toDateTime({split_s:UInt32})
    GROUP BY minute)
