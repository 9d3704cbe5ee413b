//! OTLP log records to `logs` rows, and AWS Lambda REPORT lines among them
//! to `platform_reports` rows.

use super::convert::{convert_any_value, convert_attributes, TimeWindow};
use opentelemetry_proto::tonic::logs::v1 as proto;
use tracehouse_model::invocation::function_name;
use tracehouse_model::span::UNKNOWN_SERVICE;
use tracehouse_model::{PlatformReport, ProjectId};
use tracehouse_schema::attribute_codec;
use tracehouse_schema::serverless_rows::{unix_seconds, PlatformReportRow};
use tracehouse_schema::signal_rows::LogRow;

/// Why one log record was rejected (a metric label).
pub const REJECT_TIMESTAMP_OUT_OF_RANGE: &str = "timestamp_out_of_range";

/// The rows of one logs request.
#[derive(Debug, Default)]
pub struct ConvertedLogs {
    pub logs: Vec<LogRow>,
    pub reports: Vec<PlatformReportRow>,
    /// Records outside the accepted time window.
    pub rejected_out_of_range: u64,
}

/// Number of log records in a request.
pub fn count_log_records(resource_logs: &[proto::ResourceLogs]) -> u64 {
    resource_logs
        .iter()
        .flat_map(|resource| &resource.scope_logs)
        .map(|scope| scope.log_records.len() as u64)
        .sum()
}

/// Converts every record of a request. A record's time is its
/// `time_unix_nano`, else its observed time, else `now_unix_nano`.
pub fn convert_resource_logs(
    project: &ProjectId,
    resource_logs: Vec<proto::ResourceLogs>,
    window: TimeWindow,
    now_unix_nano: u64,
) -> ConvertedLogs {
    let mut converted = ConvertedLogs::default();
    for resource_log in resource_logs {
        let resource = resource_log
            .resource
            .map(|resource| convert_attributes(resource.attributes))
            .unwrap_or_default();
        let encoded_resource = attribute_codec::encode(&resource);
        let service = resource
            .get_str("service.name")
            .unwrap_or(UNKNOWN_SERVICE)
            .to_owned();
        for scope_log in resource_log.scope_logs {
            let (scope_name, scope_version) = scope_log
                .scope
                .map(|scope| (scope.name, scope.version))
                .unwrap_or_default();
            for record in scope_log.log_records {
                let time = [record.time_unix_nano, record.observed_time_unix_nano]
                    .into_iter()
                    .find(|time| *time != 0)
                    .unwrap_or(now_unix_nano);
                if !window.contains(time) {
                    converted.rejected_out_of_range += 1;
                    continue;
                }
                let attributes = convert_attributes(record.attributes);
                let body = convert_any_value(record.body);
                let (body_text, body_type) = attribute_codec::encode_value(&body);
                if let Some(report) = PlatformReport::parse(&body_text) {
                    converted.reports.push(PlatformReportRow::from_report(
                        project,
                        &report,
                        time,
                        function_name(&resource, &attributes),
                        &service,
                    ));
                }
                let encoded = attribute_codec::encode(&attributes);
                converted.logs.push(LogRow {
                    project: project.as_str().to_owned(),
                    timestamp: unix_seconds(time),
                    time_unix_nano: time,
                    observed_time_unix_nano: record.observed_time_unix_nano,
                    trace_id: fixed_id(&record.trace_id),
                    span_id: fixed_id(&record.span_id),
                    flags: record.flags,
                    severity_number: u8::try_from(record.severity_number).unwrap_or(0),
                    severity_text: record.severity_text,
                    service: service.clone(),
                    body: body_text,
                    body_type: body_type as u8,
                    event_name: record.event_name,
                    attribute_keys: encoded.keys,
                    attribute_values: encoded.values,
                    attribute_types: encoded.types,
                    resource_keys: encoded_resource.keys.clone(),
                    resource_values: encoded_resource.values.clone(),
                    resource_types: encoded_resource.types.clone(),
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    dropped_attributes_count: record.dropped_attributes_count,
                });
            }
        }
    }
    converted
}

/// An id of the right length as is; anything else (absent, malformed) as zeros.
fn fixed_id<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    /// Converts one resource's records, accepting times from 1000 to 10000 ns.
    fn convert(resource: Option<Resource>, records: Vec<proto::LogRecord>) -> ConvertedLogs {
        let request = vec![proto::ResourceLogs {
            resource,
            scope_logs: vec![proto::ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }];
        let window = TimeWindow {
            earliest_unix_nano: 1_000,
            latest_unix_nano: 10_000,
        };
        convert_resource_logs(&ProjectId::default(), request, window, 7_000)
    }

    fn text(value: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        })
    }

    #[test]
    fn report_lines_become_reports_and_logs() {
        let converted = convert(
            Some(Resource {
                attributes: vec![KeyValue {
                    key: "faas.name".to_owned(),
                    value: text("resize"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            vec![
                    proto::LogRecord {
                        time_unix_nano: 5_000,
                        body: text("REPORT RequestId: r-1\tDuration: 1.2 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB"),
                        ..Default::default()
                    },
                    proto::LogRecord {
                        observed_time_unix_nano: 6_000,
                        body: text("hello"),
                        trace_id: vec![7; 16],
                        ..Default::default()
                    },
                    proto::LogRecord {
                        time_unix_nano: 1,
                        body: text("too old"),
                        ..Default::default()
                    },
            ],
        );
        assert_eq!(converted.logs.len(), 2);
        assert_eq!(converted.rejected_out_of_range, 1);
        assert_eq!(converted.logs[1].time_unix_nano, 6_000);
        assert_eq!(converted.logs[1].trace_id, [7; 16]);
        assert_eq!(converted.logs[0].service, UNKNOWN_SERVICE);
        assert_eq!(converted.reports.len(), 1);
        let report = &converted.reports[0];
        assert_eq!(report.request_id, "r-1");
        assert_eq!(report.function, "resize");
        assert_eq!(report.billed_duration_ms, 2);
        assert_eq!(report.memory_size_mb, 256);
    }

    fn pair(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn kvlist(pairs: Vec<KeyValue>) -> any_value::Value {
        any_value::Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: pairs,
        })
    }

    /// AWS's `platform.report` example (telemetry-schema-reference) as a
    /// pipeline that parsed the JSON sends it: a key/value body; and the
    /// same event as a JSON string body, with a timeout status.
    #[test]
    fn json_platform_reports_in_string_and_key_value_bodies() {
        use any_value::Value::{DoubleValue, IntValue, StringValue};
        let metrics = kvlist(vec![
            pair("billedDurationMs", IntValue(694)),
            pair("durationMs", DoubleValue(693.92)),
            pair("initDurationMs", DoubleValue(397.68)),
            pair("maxMemoryUsedMB", IntValue(84)),
            pair("memorySizeMB", IntValue(128)),
        ]);
        let record = kvlist(vec![
            pair("metrics", metrics),
            pair(
                "requestId",
                StringValue("6d68ca91-49c9-448d-89b8-7ca3e6dc66aa".into()),
            ),
        ]);
        let event = kvlist(vec![
            pair("time", StringValue("2022-10-12T00:01:15.000Z".into())),
            pair("type", StringValue("platform.report".into())),
            pair("record", record),
        ]);
        let json_text = r#"{"time": "2022-10-12T00:01:15.000Z", "type": "platform.report", "record": {"metrics": {"billedDurationMs": 3101, "durationMs": 3016.78, "maxMemoryUsedMB": 31, "memorySizeMB": 128}, "requestId": "527cb862-4f5e-49a9-9ae4-a7edc90f0fda", "status": "timeout"}}"#;
        let converted = convert(
            None,
            vec![
                proto::LogRecord {
                    time_unix_nano: 5_000,
                    body: Some(AnyValue { value: Some(event) }),
                    ..Default::default()
                },
                proto::LogRecord {
                    time_unix_nano: 5_000,
                    body: text(json_text),
                    ..Default::default()
                },
            ],
        );
        assert_eq!(converted.logs.len(), 2);
        assert_eq!(converted.reports.len(), 2);
        let kv = &converted.reports[0];
        assert_eq!(kv.request_id, "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa");
        assert_eq!(kv.billed_duration_ms, 694);
        assert_eq!(kv.memory_size_mb, 128);
        assert_eq!(kv.has_init_duration, 1);
        assert_eq!(kv.init_duration_ms, 397.68);
        assert_eq!((kv.status.as_str(), kv.failed), ("success", 0));
        let string = &converted.reports[1];
        assert_eq!(string.billed_duration_ms, 3101);
        assert_eq!((string.status.as_str(), string.failed), ("timeout", 1));
    }
}
