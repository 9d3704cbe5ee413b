//! FaaS metrics as a function without tracing sends them: invocation
//! counts and a duration histogram, one delta point per interval.

use crate::otlp::text;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, Sum,
};

/// Bucket bounds of the duration histogram, in milliseconds.
const BOUNDS_MS: [f64; 8] = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0];

/// `faas.invocations` and `faas.invoke_duration` (ms) for [from, to).
pub fn faas_metrics(from: u64, to: u64, durations_ms: &[f64]) -> Vec<Metric> {
    let delta = AggregationTemporality::Delta as i32;
    let mut bucket_counts = vec![0u64; BOUNDS_MS.len() + 1];
    for duration in durations_ms {
        let bucket = BOUNDS_MS
            .iter()
            .take_while(|bound| *bound < duration)
            .count();
        bucket_counts[bucket] += 1;
    }
    let attributes = vec![text("faas.trigger", "timer")];
    let invocations = Metric {
        name: "faas.invocations".to_owned(),
        unit: "{invocation}".to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                attributes: attributes.clone(),
                start_time_unix_nano: from,
                time_unix_nano: to,
                value: Some(number_data_point::Value::AsInt(durations_ms.len() as i64)),
                ..NumberDataPoint::default()
            }],
            aggregation_temporality: delta,
            is_monotonic: true,
        })),
        ..Metric::default()
    };
    let duration = Metric {
        name: "faas.invoke_duration".to_owned(),
        unit: "ms".to_owned(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes,
                start_time_unix_nano: from,
                time_unix_nano: to,
                count: durations_ms.len() as u64,
                sum: Some(durations_ms.iter().sum()),
                bucket_counts,
                explicit_bounds: BOUNDS_MS.to_vec(),
                min: durations_ms.iter().copied().reduce(f64::min),
                max: durations_ms.iter().copied().reduce(f64::max),
                ..HistogramDataPoint::default()
            }],
            aggregation_temporality: delta,
        })),
        ..Metric::default()
    };
    vec![invocations, duration]
}
