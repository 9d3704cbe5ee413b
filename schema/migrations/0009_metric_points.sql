-- OTLP metric data points of every type, one row per point. Gauge and sum
-- points use `value`; histograms count, sum, min, max, bucket_counts and
-- explicit_bounds; exponential histograms the exp_* columns; summaries
-- count, sum and the quantile arrays. metric_type: 1 gauge, 2 sum,
-- 3 histogram, 4 exponential histogram, 5 summary. temporality as OTLP
-- (0 unspecified, 1 delta, 2 cumulative). series_hash identifies a time
-- series (resource, scope and point attributes) for cumulative differences.
CREATE TABLE IF NOT EXISTS metric_points (
    project String,
    timestamp DateTime,
    time_unix_nano UInt64,
    start_time_unix_nano UInt64,
    service String,
    metric_name String,
    metric_description String,
    metric_unit String,
    metric_type Enum8('gauge' = 1, 'sum' = 2, 'histogram' = 3, 'exponential_histogram' = 4, 'summary' = 5),
    temporality UInt8,
    is_monotonic UInt8,
    series_hash UInt64,
    value Float64,
    count UInt64,
    sum Float64,
    min Float64,
    max Float64,
    has_min_max UInt8,
    bucket_counts Array(UInt64),
    explicit_bounds Array(Float64),
    exp_scale Int32,
    exp_zero_count UInt64,
    exp_positive_offset Int32,
    exp_positive_bucket_counts Array(UInt64),
    exp_negative_offset Int32,
    exp_negative_bucket_counts Array(UInt64),
    quantiles Array(Float64),
    quantile_values Array(Float64),
    flags UInt32,
    attribute_keys Array(String),
    attribute_values Array(String),
    attribute_types Array(UInt8),
    resource_keys Array(String),
    resource_values Array(String),
    resource_types Array(UInt8),
    scope_name String,
    scope_version String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, metric_name, service, timestamp)
SETTINGS index_granularity = 8192
