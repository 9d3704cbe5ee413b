-- Fragment {effective_invocations}: the invocations of a scope as billed and
-- classified (the rule is {live_invocations}'s): the settled minutes from
-- {settled_invocations}, the rest computed live. Templates write
-- FROM {effective_invocations} AS e. The two SELECTs are the UNION's own, not
-- subqueries of it: ClickHouse 18.16 analyses each level of subqueries again
-- for every level above it.
(
{settled_invocations}
    UNION ALL
{live_invocations}
)
