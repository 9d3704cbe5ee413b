-- FaaS metric points (faas.*) of some functions (all_functions = 1: every one) in a window, oldest first, with the function each belongs to.
-- params: project = 'default', all_functions = 1, functions = [], from_s = 1700000000, to_s = 1700003600, from_ns = 1700000000000000000, to_ns = 1700003600000000000
SELECT
    if(indexOf(resource_keys, 'faas.name') > 0, resource_values[indexOf(resource_keys, 'faas.name')], service) AS function,
    service,
    metric_name,
    metric_unit,
    toInt8(metric_type) AS metric_type,
    temporality,
    series_hash,
    start_time_unix_nano,
    time_unix_nano,
    value,
    count,
    sum,
    bucket_counts,
    explicit_bounds,
    -- The OpenTelemetry Lambda layer's receiver names provider and region
    -- faas.invoked_provider and faas.invoked_region only.
    if(indexOf(resource_keys, 'cloud.provider') > 0,
       resource_values[indexOf(resource_keys, 'cloud.provider')],
       resource_values[indexOf(resource_keys, 'faas.invoked_provider')]) AS cloud_provider,
    resource_values[indexOf(resource_keys, 'cloud.platform')] AS cloud_platform,
    if(indexOf(resource_keys, 'cloud.region') > 0,
       resource_values[indexOf(resource_keys, 'cloud.region')],
       resource_values[indexOf(resource_keys, 'faas.invoked_region')]) AS region,
    resource_values[indexOf(resource_keys, 'faas.max_memory')] AS max_memory,
    resource_values[indexOf(resource_keys, 'host.arch')] AS host_arch
FROM metric_points
WHERE project = {project:String}
  AND metric_name IN ('faas.invocations', 'faas.errors', 'faas.coldstarts', 'faas.timeouts', 'faas.invoke_duration', 'faas.init_duration', 'faas.mem_usage')
  AND timestamp >= toDateTime({from_s:UInt32}) AND timestamp <= toDateTime({to_s:UInt32})
  AND time_unix_nano >= {from_ns:UInt64} AND time_unix_nano < {to_ns:UInt64}
  AND {function_filter}
ORDER BY time_unix_nano
LIMIT 1000001
