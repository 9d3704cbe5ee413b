//! Property-based fuzzing (proptest, a bounded number of cases per run) of
//! every parser that reads client input: the OTLP protobuf and JSON
//! decoders with span conversion, the REPORT-line parser, and the query
//! parameter parsers (`from`/`to`, `step`, trace search and attribute
//! filters, Jaeger's parameters). Each must answer, never panic, and what
//! it accepts must be within its bounds.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::prelude::*;
use prost::Message;
use std::collections::HashMap;
use std::time::Duration;
use tracehouse_collector::otlp::convert::{convert_resource_spans, count_spans, TimeWindow};
use tracehouse_collector::otlp::decode::{decode_message, BodyFormat};
use tracehouse_collector::SpanLimits;
use tracehouse_model::platform_report::PlatformReport;
use tracehouse_query::QueryLimits;
use tracehouse_web::api::search::parse_search;
use tracehouse_web::api::step::parse_step;
use tracehouse_web::api::window::resolve_window;
use tracehouse_web::jaeger::params::{dependencies_window, trace_search};

const NOW: u64 = 1_764_000_000_000_000_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn ingest_window() -> TimeWindow {
    TimeWindow::around_now(Duration::from_secs(7 * 86_400), Duration::from_secs(86_400))
}

/// An `AnyValue` nested up to `depth` levels.
fn any_value_strategy() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        any::<String>().prop_map(any_value::Value::StringValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        any::<f64>().prop_map(any_value::Value::DoubleValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(any_value::Value::BytesValue),
    ];
    leaf.prop_recursive(6, 40, 4, |inner| {
        proptest::collection::vec(inner, 0..4).prop_map(|values| {
            any_value::Value::ArrayValue(ArrayValue {
                values: values
                    .into_iter()
                    .map(|value| AnyValue { value: Some(value) })
                    .collect(),
            })
        })
    })
    .prop_map(|value| AnyValue { value: Some(value) })
}

fn attribute_strategy() -> impl Strategy<Value = KeyValue> {
    (any::<String>(), proptest::option::of(any_value_strategy())).prop_map(|(key, value)| {
        KeyValue {
            key,
            value,
            ..KeyValue::default()
        }
    })
}

/// Spans with ids of any length, any times and attributes.
fn span_strategy() -> impl Strategy<Value = Span> {
    (
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..10),
        proptest::collection::vec(any::<u8>(), 0..10),
        prop_oneof![
            any::<u64>(),
            (NOW - 1_000_000_000_000)..(NOW + 1_000_000_000_000)
        ],
        any::<u64>(),
        any::<String>(),
        proptest::collection::vec(attribute_strategy(), 0..5),
        any::<i32>(),
    )
        .prop_map(
            |(trace_id, span_id, parent_span_id, start, end, name, attributes, kind)| Span {
                trace_id,
                span_id,
                parent_span_id,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                name,
                attributes,
                kind,
                ..Span::default()
            },
        )
}

fn request_strategy() -> impl Strategy<Value = ExportTraceServiceRequest> {
    proptest::collection::vec(
        (
            proptest::collection::vec(attribute_strategy(), 0..4),
            proptest::collection::vec(span_strategy(), 0..6),
        ),
        0..3,
    )
    .prop_map(|resources| ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(attributes, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            })
            .collect(),
    })
}

/// Converts a decoded request; every span is kept or rejected, none lost.
fn convert_checked(request: ExportTraceServiceRequest) {
    let total = count_spans(&request.resource_spans);
    let converted = convert_resource_spans(
        request.resource_spans,
        ingest_window(),
        &SpanLimits::default(),
    );
    assert_eq!(
        converted.spans.len() as u64 + converted.rejected_count(),
        total
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn protobuf_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = decode_message::<ExportTraceServiceRequest>(&bytes, BodyFormat::Protobuf) {
            convert_checked(request);
        }
    }

    #[test]
    fn generated_requests_survive_protobuf_and_conversion(request in request_strategy()) {
        let bytes = request.encode_to_vec();
        let decoded = decode_message::<ExportTraceServiceRequest>(&bytes, BodyFormat::Protobuf)
            .expect("a request we encoded decodes");
        convert_checked(decoded);
    }

    #[test]
    fn generated_requests_survive_json_and_conversion(request in request_strategy(), cut in any::<usize>()) {
        let json = serde_json::to_vec(&request).expect("serializes");
        if let Ok(decoded) = decode_message::<ExportTraceServiceRequest>(&json, BodyFormat::Json) {
            convert_checked(decoded);
        }
        // A truncated body is an error, never a panic.
        let truncated = &json[..cut % (json.len() + 1)];
        if let Ok(decoded) = decode_message::<ExportTraceServiceRequest>(truncated, BodyFormat::Json) {
            convert_checked(decoded);
        }
    }

    #[test]
    fn json_text_decodes_or_fails_cleanly(text in ".{0,300}") {
        if let Ok(request) = decode_message::<ExportTraceServiceRequest>(text.as_bytes(), BodyFormat::Json) {
            convert_checked(request);
        }
    }

    #[test]
    fn report_lines_parse_or_not(
        id in "[a-f0-9-]{0,40}",
        duration in prop_oneof![Just("NaN".to_owned()), Just("-1".to_owned()), "[0-9]{0,25}(\\.[0-9]{0,5})?"],
        billed in "[0-9-]{0,25}",
        memory in "[0-9]{0,22}",
        noise in ".{0,80}",
    ) {
        let line = format!(
            "REPORT RequestId: {id}\tDuration: {duration} ms\tBilled Duration: {billed} ms\t\
             Memory Size: {memory} MB\tMax Memory Used: {memory} MB\tInit Duration: {duration} ms{noise}"
        );
        let _ = PlatformReport::parse(&line);
        let _ = PlatformReport::parse(&noise);
        let json = format!(
            "{{\"type\":\"platform.report\",\"record\":{{\"requestId\":\"{id}\",\"metrics\":\
             {{\"durationMs\":{duration},\"billedDurationMs\":{billed}}}}}}}"
        );
        let _ = PlatformReport::parse(&json);
    }

    #[test]
    fn windows_are_bounded_or_refused(from in instant_text(), to in instant_text()) {
        let limits = QueryLimits::default();
        let max = limits.max_window.as_nanos() as u64;
        if let Ok(window) = resolve_window(Some(&from), Some(&to), NOW, &limits) {
            prop_assert!(window.start_unix_nano <= window.end_unix_nano);
            prop_assert!(window.end_unix_nano - window.start_unix_nano <= max);
            let _ = parse_step(Some(&to), &window);
            let _ = parse_step(Some(&from), &window);
        }
    }

    #[test]
    fn search_parameters_parse_or_name_the_problem(pairs in proptest::collection::vec((search_key(), ".{0,30}"), 0..6)) {
        let limits = QueryLimits::default();
        match parse_search(&pairs, NOW, &limits) {
            Ok(search) => prop_assert!(search.window.is_some()),
            Err(error) => prop_assert!(!error.message().is_empty()),
        }
    }

    #[test]
    fn jaeger_parameters_parse_or_name_the_problem(pairs in proptest::collection::vec((jaeger_key(), ".{0,30}"), 0..6)) {
        let limits = QueryLimits::default();
        let max = limits.max_window.as_nanos() as u64;
        if let Ok(search) = trace_search(&pairs, NOW, &limits) {
            let window = search.window.expect("a window");
            prop_assert!(window.end_unix_nano - window.start_unix_nano <= max);
        }
        let map: HashMap<String, String> = pairs.into_iter().collect();
        if let Ok(window) = dependencies_window(&map, NOW, &limits) {
            prop_assert!(window.end_unix_nano - window.start_unix_nano <= max);
        }
    }
}

/// `from`/`to` texts: relative, Unix milliseconds, RFC 3339 and garbage.
fn instant_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "now(-[0-9]{0,22}(\\.[0-9]{0,3})?(ns|us|ms|s|m|h|d|w|µs)?)?",
        "[0-9]{0,25}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
        ".{0,20}",
    ]
}

fn search_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("from".to_owned()),
        Just("to".to_owned()),
        Just("service".to_owned()),
        Just("status".to_owned()),
        Just("min_duration_ms".to_owned()),
        Just("max_duration_ms".to_owned()),
        Just("limit".to_owned()),
        Just("cursor".to_owned()),
        "attr\\..{0,10}",
        ".{0,8}",
    ]
}

fn jaeger_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("start".to_owned()),
        Just("end".to_owned()),
        Just("minDuration".to_owned()),
        Just("maxDuration".to_owned()),
        Just("limit".to_owned()),
        Just("tags".to_owned()),
        Just("endTs".to_owned()),
        Just("lookback".to_owned()),
        ".{0,8}",
    ]
}
