-- Fragment {function_filter}: the functions of a scope: all_functions (1:
-- every function), else those of functions.
-- switch: all_functions
-- (A switch: bound as 1, the flag makes the fragment read `1`, so that the
-- server builds no set for it; see query/src/sql/template.rs.)
({all_functions:UInt8} OR function IN (SELECT arrayJoin(CAST({functions:Array(String)} AS Array(String)))))
