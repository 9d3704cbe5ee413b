-- Fragment {trace_filter}: the traces of a scope: all_traces (1: every
-- trace), else those of trace_ids (hex).
-- switch: all_traces
({all_traces:UInt8} OR trace_id IN (SELECT toFixedString(unhex(arrayJoin(CAST({trace_ids:Array(String)} AS Array(String)))), 16)))
