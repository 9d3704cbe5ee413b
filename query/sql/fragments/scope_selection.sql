-- Fragment {scope_selection}: which rows of a scope count, apart from time:
-- the project, the functions ({function_filter}) and the traces ({trace_filter}). Shared by the
-- live (invocation_scope) and settled (settled_invocations) halves of a read.
project = {project:String}
AND {function_filter}
AND {trace_filter}
