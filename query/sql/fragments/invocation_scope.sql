-- Fragment {invocation_scope}: the condition on `invocations` rows of the
-- live half of a scope: {scope_selection}, starting in [split, to).
-- split_s, to_s (seconds, for partitions and the sort key); split_ns
-- (inclusive), to_ns (exclusive) on the start time. A read splits its window
-- at the settler's mark (settled_invocations reads [from, split)); the
-- settler itself reads [split, to) as the window it settles.
{scope_selection}
AND timestamp >= toDateTime({split_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
AND start_time_unix_nano >= {split_ns:UInt64} AND start_time_unix_nano < {to_ns:UInt64}
