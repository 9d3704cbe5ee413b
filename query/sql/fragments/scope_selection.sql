-- Fragment {scope_selection}: which rows of a scope count, apart from time:
-- the project; all_functions (1: every function, else those of functions);
-- all_traces (1: every trace, else those of trace_ids, hex). Shared by the
-- live (invocation_scope) and settled (settled_invocations) halves of a read.
project = {project:String}
AND ({all_functions:UInt8} OR function IN (SELECT arrayJoin(CAST({functions:Array(String)} AS Array(String)))))
AND ({all_traces:UInt8} OR trace_id IN (SELECT toFixedString(unhex(arrayJoin(CAST({trace_ids:Array(String)} AS Array(String)))), 16)))
