-- Fragment {billing_units}: the pricing traits and billing units of a group of effective invocations (select-list columns
-- after the grouping keys), which cost.rs prices; every cost read selects these same columns.
    provider,
    region,
    arch,
    memory_mb,
    toUInt8(cold) AS is_cold,
    count() AS invocations,
    toUInt64(sum(billed_ms_aws)) AS billed_ms_aws,
    toUInt64(sum(billed_ms_azure)) AS billed_ms_azure,
    toUInt64(sum(billed_ms_gcp)) AS billed_ms_gcp
