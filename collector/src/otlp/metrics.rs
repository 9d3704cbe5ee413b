//! OTLP metrics to `metric_points` rows: one row per data point of any type
//! (gauge, sum, histogram, exponential histogram, summary). Exemplars are
//! not stored.

use super::convert::{convert_attributes, TimeWindow};
use opentelemetry_proto::tonic::metrics::v1::{self as proto, metric::Data, number_data_point};
use std::hash::{Hash, Hasher};
use tracehouse_model::span::UNKNOWN_SERVICE;
use tracehouse_model::ProjectId;
use tracehouse_schema::attribute_codec::{self, EncodedAttributes};
use tracehouse_schema::serverless_rows::unix_seconds;
use tracehouse_schema::signal_rows::{metric_type, temporality, MetricPointRow};

/// The rows of one metrics request.
#[derive(Debug, Default)]
pub struct ConvertedMetrics {
    pub points: Vec<MetricPointRow>,
    /// Points outside the accepted time window.
    pub rejected_out_of_range: u64,
    /// Metrics without data (no type): their points cannot be counted, so
    /// each such metric counts as one rejected item.
    pub rejected_without_data: u64,
    /// Points whose shape no reader could trust (see [`malformed`]).
    pub rejected_malformed: u64,
}

/// Why a point is refused at ingest, so that nothing stored can mislead or
/// break a reader: histogram buckets must match their bounds (one more
/// count than bounds, or neither), bounds must increase, and every number
/// must be finite, with quantiles within 0 and 1.
pub fn malformed(row: &MetricPointRow) -> Option<&'static str> {
    let buckets = row.bucket_counts.len();
    let bounds = row.explicit_bounds.len();
    if buckets != 0 && buckets != bounds + 1 || buckets == 0 && bounds != 0 {
        return Some("histogram bucket counts do not match its bounds");
    }
    if row
        .explicit_bounds
        .windows(2)
        .any(|pair| pair[0] >= pair[1])
    {
        return Some("histogram bounds do not increase");
    }
    let numbers = [row.value, row.sum, row.min, row.max];
    let all_finite = numbers
        .iter()
        .chain(&row.explicit_bounds)
        .chain(&row.quantile_values)
        .chain(&row.quantiles)
        .all(|number| number.is_finite());
    if !all_finite {
        return Some("a value is not a finite number");
    }
    if row
        .quantiles
        .iter()
        .any(|quantile| !(0.0..=1.0).contains(quantile))
    {
        return Some("a quantile is outside 0 to 1");
    }
    None
}

/// Number of data points in a request.
pub fn count_data_points(resource_metrics: &[proto::ResourceMetrics]) -> u64 {
    resource_metrics
        .iter()
        .flat_map(|resource| &resource.scope_metrics)
        .flat_map(|scope| &scope.metrics)
        .map(|metric| match &metric.data {
            Some(Data::Gauge(gauge)) => gauge.data_points.len() as u64,
            Some(Data::Sum(sum)) => sum.data_points.len() as u64,
            Some(Data::Histogram(histogram)) => histogram.data_points.len() as u64,
            Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len() as u64,
            Some(Data::Summary(summary)) => summary.data_points.len() as u64,
            None => 1,
        })
        .sum()
}

/// What every point of one metric shares.
struct MetricContext<'a> {
    project: &'a ProjectId,
    service: &'a str,
    resource: &'a EncodedAttributes,
    scope_name: &'a str,
    scope_version: &'a str,
    name: &'a str,
    description: &'a str,
    unit: &'a str,
}

impl MetricContext<'_> {
    /// A row with everything but the point's values filled in.
    fn row(
        &self,
        kind: i8,
        attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
        start_time_unix_nano: u64,
        time_unix_nano: u64,
        flags: u32,
    ) -> MetricPointRow {
        let attributes = attribute_codec::encode(&convert_attributes(attributes));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (
            self.name,
            self.service,
            &self.resource.keys,
            &self.resource.values,
            self.scope_name,
            &attributes.keys,
            &attributes.values,
        )
            .hash(&mut hasher);
        MetricPointRow {
            project: self.project.as_str().to_owned(),
            timestamp: unix_seconds(time_unix_nano),
            time_unix_nano,
            start_time_unix_nano,
            service: self.service.to_owned(),
            metric_name: self.name.to_owned(),
            metric_description: self.description.to_owned(),
            metric_unit: self.unit.to_owned(),
            metric_type: kind,
            series_hash: hasher.finish(),
            flags,
            attribute_keys: attributes.keys,
            attribute_values: attributes.values,
            attribute_types: attributes.types,
            resource_keys: self.resource.keys.clone(),
            resource_values: self.resource.values.clone(),
            resource_types: self.resource.types.clone(),
            scope_name: self.scope_name.to_owned(),
            scope_version: self.scope_version.to_owned(),
            ..MetricPointRow::default()
        }
    }
}

/// Converts every data point of a request.
pub fn convert_resource_metrics(
    project: &ProjectId,
    resource_metrics: Vec<proto::ResourceMetrics>,
    window: TimeWindow,
) -> ConvertedMetrics {
    let mut converted = ConvertedMetrics::default();
    for resource_metric in resource_metrics {
        let resource = resource_metric
            .resource
            .map(|resource| convert_attributes(resource.attributes))
            .unwrap_or_default();
        let service = resource
            .get_str("service.name")
            .unwrap_or(UNKNOWN_SERVICE)
            .to_owned();
        let encoded_resource = attribute_codec::encode(&resource);
        for scope_metric in resource_metric.scope_metrics {
            let (scope_name, scope_version) = scope_metric
                .scope
                .map(|scope| (scope.name, scope.version))
                .unwrap_or_default();
            for metric in scope_metric.metrics {
                let context = MetricContext {
                    project,
                    service: &service,
                    resource: &encoded_resource,
                    scope_name: &scope_name,
                    scope_version: &scope_version,
                    name: &metric.name,
                    description: &metric.description,
                    unit: &metric.unit,
                };
                let Some(data) = metric.data else {
                    converted.rejected_without_data += 1;
                    continue;
                };
                for row in convert_data(&context, data) {
                    if !window.contains(row.time_unix_nano) {
                        converted.rejected_out_of_range += 1;
                    } else if malformed(&row).is_some() {
                        converted.rejected_malformed += 1;
                    } else {
                        converted.points.push(row);
                    }
                }
            }
        }
    }
    converted
}

fn temporality(value: i32) -> u8 {
    u8::try_from(value)
        .ok()
        .filter(|known| *known <= temporality::CUMULATIVE)
        .unwrap_or(temporality::UNSPECIFIED)
}

fn number_value(value: Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(number)) => number,
        Some(number_data_point::Value::AsInt(number)) => number as f64,
        None => 0.0,
    }
}

fn convert_data(context: &MetricContext<'_>, data: Data) -> Vec<MetricPointRow> {
    match data {
        Data::Gauge(gauge) => gauge
            .data_points
            .into_iter()
            .map(|point| MetricPointRow {
                value: number_value(point.value),
                ..context.row(
                    metric_type::GAUGE,
                    point.attributes,
                    point.start_time_unix_nano,
                    point.time_unix_nano,
                    point.flags,
                )
            })
            .collect(),
        Data::Sum(sum) => sum
            .data_points
            .into_iter()
            .map(|point| MetricPointRow {
                value: number_value(point.value),
                temporality: temporality(sum.aggregation_temporality),
                is_monotonic: u8::from(sum.is_monotonic),
                ..context.row(
                    metric_type::SUM,
                    point.attributes,
                    point.start_time_unix_nano,
                    point.time_unix_nano,
                    point.flags,
                )
            })
            .collect(),
        Data::Histogram(histogram) => histogram
            .data_points
            .into_iter()
            .map(|point| MetricPointRow {
                temporality: temporality(histogram.aggregation_temporality),
                count: point.count,
                sum: point.sum.unwrap_or(0.0),
                min: point.min.unwrap_or(0.0),
                max: point.max.unwrap_or(0.0),
                has_min_max: u8::from(point.min.is_some() && point.max.is_some()),
                bucket_counts: point.bucket_counts,
                explicit_bounds: point.explicit_bounds,
                ..context.row(
                    metric_type::HISTOGRAM,
                    point.attributes,
                    point.start_time_unix_nano,
                    point.time_unix_nano,
                    point.flags,
                )
            })
            .collect(),
        Data::ExponentialHistogram(histogram) => histogram
            .data_points
            .into_iter()
            .map(|point| {
                let positive = point.positive.unwrap_or_default();
                let negative = point.negative.unwrap_or_default();
                MetricPointRow {
                    temporality: temporality(histogram.aggregation_temporality),
                    count: point.count,
                    sum: point.sum.unwrap_or(0.0),
                    min: point.min.unwrap_or(0.0),
                    max: point.max.unwrap_or(0.0),
                    has_min_max: u8::from(point.min.is_some() && point.max.is_some()),
                    exp_scale: point.scale,
                    exp_zero_count: point.zero_count,
                    exp_positive_offset: positive.offset,
                    exp_positive_bucket_counts: positive.bucket_counts,
                    exp_negative_offset: negative.offset,
                    exp_negative_bucket_counts: negative.bucket_counts,
                    ..context.row(
                        metric_type::EXPONENTIAL_HISTOGRAM,
                        point.attributes,
                        point.start_time_unix_nano,
                        point.time_unix_nano,
                        point.flags,
                    )
                }
            })
            .collect(),
        Data::Summary(summary) => summary
            .data_points
            .into_iter()
            .map(|point| MetricPointRow {
                count: point.count,
                sum: point.sum,
                quantiles: point.quantile_values.iter().map(|q| q.quantile).collect(),
                quantile_values: point.quantile_values.iter().map(|q| q.value).collect(),
                ..context.row(
                    metric_type::SUMMARY,
                    point.attributes,
                    point.start_time_unix_nano,
                    point.time_unix_nano,
                    point.flags,
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, data: Data) -> proto::Metric {
        proto::Metric {
            name: name.to_owned(),
            unit: "ms".to_owned(),
            data: Some(data),
            ..Default::default()
        }
    }

    #[test]
    fn every_point_type_becomes_a_row() {
        let time = 5_000;
        let request = vec![proto::ResourceMetrics {
            scope_metrics: vec![proto::ScopeMetrics {
                metrics: vec![
                    metric(
                        "g",
                        Data::Gauge(proto::Gauge {
                            data_points: vec![proto::NumberDataPoint {
                                time_unix_nano: time,
                                value: Some(number_data_point::Value::AsInt(3)),
                                ..Default::default()
                            }],
                        }),
                    ),
                    metric(
                        "s",
                        Data::Sum(proto::Sum {
                            data_points: vec![proto::NumberDataPoint {
                                time_unix_nano: time,
                                value: Some(number_data_point::Value::AsDouble(2.5)),
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "h",
                        Data::Histogram(proto::Histogram {
                            data_points: vec![proto::HistogramDataPoint {
                                time_unix_nano: time,
                                count: 3,
                                sum: Some(30.0),
                                bucket_counts: vec![1, 2],
                                explicit_bounds: vec![10.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        }),
                    ),
                    metric(
                        "e",
                        Data::ExponentialHistogram(proto::ExponentialHistogram {
                            data_points: vec![proto::ExponentialHistogramDataPoint {
                                time_unix_nano: time,
                                count: 2,
                                scale: 3,
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "q",
                        Data::Summary(proto::Summary {
                            data_points: vec![proto::SummaryDataPoint {
                                time_unix_nano: 1,
                                count: 1,
                                ..Default::default()
                            }],
                        }),
                    ),
                    proto::Metric::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }];
        assert_eq!(count_data_points(&request), 6);
        let window = TimeWindow {
            earliest_unix_nano: 1_000,
            latest_unix_nano: 10_000,
        };
        let converted = convert_resource_metrics(&ProjectId::default(), request, window);
        assert_eq!(converted.points.len(), 4);
        assert_eq!(converted.rejected_out_of_range, 1);
        assert_eq!(converted.rejected_without_data, 1);
        assert_eq!(converted.points[0].value, 3.0);
        assert_eq!(converted.points[1].temporality, 1);
        assert_eq!(converted.points[2].bucket_counts, vec![1, 2]);
        assert_eq!(converted.points[3].exp_scale, 3);
        assert_eq!(converted.points[0].service, UNKNOWN_SERVICE);
    }

    fn histogram_row(bucket_counts: Vec<u64>, explicit_bounds: Vec<f64>) -> MetricPointRow {
        MetricPointRow {
            bucket_counts,
            explicit_bounds,
            ..MetricPointRow::default()
        }
    }

    #[test]
    fn malformed_points_are_named() {
        assert_eq!(malformed(&histogram_row(vec![], vec![])), None);
        assert_eq!(malformed(&histogram_row(vec![1, 2], vec![10.0])), None);
        // The point that once broke the functions pages: no bounds, two counts.
        assert!(malformed(&histogram_row(vec![0, 1], vec![])).is_some());
        assert!(malformed(&histogram_row(vec![], vec![1.0])).is_some());
        assert!(malformed(&histogram_row(vec![1, 1, 1], vec![5.0, 5.0])).is_some());
        assert!(malformed(&histogram_row(vec![1, 1], vec![f64::NAN])).is_some());
        let infinite_sum = MetricPointRow {
            sum: f64::INFINITY,
            ..MetricPointRow::default()
        };
        assert!(malformed(&infinite_sum).is_some());
        let bad_quantile = MetricPointRow {
            quantiles: vec![1.5],
            quantile_values: vec![3.0],
            ..MetricPointRow::default()
        };
        assert!(malformed(&bad_quantile).is_some());
    }
}
