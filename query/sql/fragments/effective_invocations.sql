-- Fragment {effective_invocations}: the invocations of a scope as billed and
-- classified (the rule is {live_invocations}'s): the settled minutes from
-- {settled_invocations}, the rest computed live. Templates write
-- FROM {effective_invocations} AS e.
(
    SELECT * FROM {settled_invocations}
    UNION ALL
    SELECT * FROM {live_invocations}
)
