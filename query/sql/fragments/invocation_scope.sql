-- Fragment {invocation_scope}: the condition on `invocations` rows of a scope.
-- Placeholders: project; all_functions (1: every function, else those of
-- functions); all_traces (1: every trace, else those of trace_ids, hex);
-- from_s, to_s (seconds, for partitions and the sort key); from_ns
-- (inclusive), to_ns (exclusive) on the start time.
project = {project:String}
AND ({all_functions:UInt8} OR function IN (SELECT arrayJoin(CAST({functions:Array(String)} AS Array(String)))))
AND ({all_traces:UInt8} OR trace_id IN (SELECT toFixedString(unhex(arrayJoin(CAST({trace_ids:Array(String)} AS Array(String)))), 16)))
AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
AND start_time_unix_nano >= {from_ns:UInt64} AND start_time_unix_nano < {to_ns:UInt64}
