//! The Jaeger HTTP query API under /jaeger/api, checked against the JSON
//! shape the Jaeger UI and Grafana's Jaeger data source read.

use crate::support;

use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use support::{
    end, extracted_span_context, inject, message_attributes, span_hex, trace_hex, Clock, Function,
    Step,
};
use tracehouse_tests::TestApp;

/// Every field the Jaeger UI reads, with its JSON type; references point
/// to `CHILD_OF`/`FOLLOWS_FROM`, tags carry Jaeger type names, every
/// processID has a process.
fn assert_jaeger_trace_shape(trace: &Value) {
    assert!(trace["traceID"].is_string(), "{trace}");
    assert!(trace["warnings"].is_null());
    let processes = trace["processes"].as_object().expect("processes object");
    for process in processes.values() {
        assert!(process["serviceName"].is_string(), "{process}");
        assert_tags(&process["tags"]);
    }
    for span in trace["spans"].as_array().expect("spans array") {
        assert_eq!(span["traceID"], trace["traceID"]);
        assert_eq!(span["spanID"].as_str().map(str::len), Some(16), "{span}");
        assert!(span["operationName"].is_string());
        assert!(
            span["startTime"].is_u64() && span["duration"].is_u64(),
            "{span}"
        );
        assert!(span["flags"].is_u64());
        assert!(processes.contains_key(span["processID"].as_str().unwrap_or_default()));
        for reference in span["references"].as_array().expect("references array") {
            assert!(
                ["CHILD_OF", "FOLLOWS_FROM"]
                    .contains(&reference["refType"].as_str().unwrap_or_default()),
                "{reference}"
            );
            assert!(reference["traceID"].is_string() && reference["spanID"].is_string());
        }
        assert_tags(&span["tags"]);
        for log in span["logs"].as_array().expect("logs array") {
            assert!(log["timestamp"].is_u64());
            assert_tags(&log["fields"]);
        }
    }
}

fn assert_tags(tags: &Value) {
    for tag in tags.as_array().expect("tags array") {
        assert!(tag["key"].is_string(), "{tag}");
        let value = &tag["value"];
        let matches = match tag["type"].as_str() {
            Some("string") => value.is_string(),
            Some("bool") => value.is_boolean(),
            Some("int64") => value.is_i64() || value.is_u64(),
            Some("float64") => value.is_number(),
            _ => false,
        };
        assert!(matches, "tag type and value disagree: {tag}");
    }
}

fn assert_envelope(body: &Value, total: usize) {
    assert_eq!(body["total"], total, "{body}");
    assert_eq!(body["limit"], 0);
    assert_eq!(body["offset"], 0);
    assert!(body["errors"].is_null(), "{body}");
}

fn tag<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|tag| tag["key"] == key))
        .map_or(&Value::Null, |tag| &tag["value"])
}

#[tokio::test(flavor = "multi_thread")]
async fn jaeger_ui_and_grafana_can_search_and_open_traces() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let clock = Clock::started_ago(Duration::from_secs(30));
    let api = Function::new(&app.otlp_grpc_url(), "api")?;
    let users = Function::new(&app.otlp_grpc_url(), "users")?;
    let worker = Function::new(&app.otlp_grpc_url(), "worker")?;
    let no_parent = Context::new();

    // api GET /users/42 [0, 50] → users lookup [10, 30] (another service),
    // publish jobs [35, 40]; worker process jobs [100, 180] links back, fails.
    let request = api.start(
        Step::new("GET /users/{id}", SpanKind::Server, &no_parent, clock.at(0)).attributes(vec![
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("sampled.ratio", 0.5),
            KeyValue::new("cache.hit", false),
        ]),
    );
    request.span().add_event_with_timestamp(
        "cache miss",
        clock.at(2),
        vec![KeyValue::new("cache.key", "user:42")],
    );
    let lookup = users.start(Step::new(
        "lookup",
        SpanKind::Server,
        &request,
        clock.at(10),
    ));
    end(&lookup, clock.at(30), None);
    let publish = api.start(
        Step::new("publish jobs", SpanKind::Producer, &request, clock.at(35))
            .attributes(message_attributes("publish", "jobs", "job-1")),
    );
    let job = inject(&publish);
    end(&publish, clock.at(40), None);
    end(&request, clock.at(50), None);
    let process = worker.start(
        Step::new(
            "process jobs",
            SpanKind::Consumer,
            &no_parent,
            clock.at(100),
        )
        .attributes(message_attributes("process", "jobs", "job-1"))
        .links(vec![extracted_span_context(&job)]),
    );
    end(&process, clock.at(180), Some("job crashed"));

    let (api_trace, worker_trace) = (trace_hex(&request), trace_hex(&process));
    let (request_span, lookup_span, publish_span) =
        (span_hex(&request), span_hex(&lookup), span_hex(&publish));
    for function in [api, users, worker] {
        function.shutdown().await?;
    }
    app.wait_for_trace(&api_trace, 3).await?;
    app.wait_for_trace(&worker_trace, 1).await?;

    let (status, services) = app.get_json("/jaeger/api/services").await?;
    assert_eq!(status, 200, "{services}");
    assert_eq!(services["data"], json!(["api", "users", "worker"]));
    assert_envelope(&services, 3);

    let (status, operations) = app.get_json("/jaeger/api/services/api/operations").await?;
    assert_eq!(status, 200, "{operations}");
    assert_eq!(
        operations["data"],
        json!(["GET /users/{id}", "publish jobs"])
    );
    assert_envelope(&operations, 2);
    let (_, operations) = app
        .get_json("/jaeger/api/operations?service=api&spanKind=producer")
        .await?;
    assert_eq!(
        operations["data"],
        json!([{"name": "publish jobs", "spanKind": "producer"}])
    );

    // One trace by id.
    let (status, body) = app
        .get_json(&format!("/jaeger/api/traces/{api_trace}"))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_envelope(&body, 1);
    let trace = &body["data"][0];
    assert_jaeger_trace_shape(trace);
    assert_eq!(trace["traceID"], api_trace);
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 3);
    let root = spans
        .iter()
        .find(|span| span["spanID"] == request_span.as_str())
        .expect("root");
    assert_eq!(root["operationName"], "GET /users/{id}");
    assert_eq!(root["references"], json!([]));
    assert_eq!(root["startTime"], clock.nanos(0) / 1_000);
    assert_eq!(root["duration"], 50_000);
    assert_eq!(tag(root, "http.route"), "/users/{id}");
    assert_eq!(tag(root, "http.response.status_code"), 200);
    assert_eq!(tag(root, "sampled.ratio"), 0.5);
    assert_eq!(tag(root, "cache.hit"), false);
    assert_eq!(tag(root, "span.kind"), "server");
    assert_eq!(
        root["logs"],
        json!([{"timestamp": clock.nanos(2) / 1_000, "fields": [
            {"key": "event", "type": "string", "value": "cache miss"},
            {"key": "cache.key", "type": "string", "value": "user:42"},
        ]}])
    );
    let lookup_json = spans
        .iter()
        .find(|span| span["spanID"] == lookup_span.as_str())
        .expect("lookup");
    assert_eq!(
        lookup_json["references"],
        json!([{"refType": "CHILD_OF", "traceID": api_trace, "spanID": request_span}])
    );
    let services_by_process: BTreeSet<(String, String)> = spans
        .iter()
        .map(|span| {
            let process = &trace["processes"][span["processID"].as_str().unwrap_or_default()];
            (
                span["operationName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                process["serviceName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        services_by_process,
        BTreeSet::from([
            ("GET /users/{id}".to_owned(), "api".to_owned()),
            ("lookup".to_owned(), "users".to_owned()),
            ("publish jobs".to_owned(), "api".to_owned()),
        ])
    );

    // The consumer's link is a FOLLOWS_FROM reference; its error is the `error` tag.
    let (_, body) = app
        .get_json(&format!("/jaeger/api/traces/{worker_trace}"))
        .await?;
    let consumer = &body["data"][0]["spans"][0];
    assert_jaeger_trace_shape(&body["data"][0]);
    assert_eq!(
        consumer["references"],
        json!([{"refType": "FOLLOWS_FROM", "traceID": api_trace, "spanID": publish_span}])
    );
    assert_eq!(tag(consumer, "error"), true);
    assert_eq!(tag(consumer, "otel.status_description"), "job crashed");

    // Search as Grafana sends it: microsecond window, Go durations, JSON tags.
    let start = clock.nanos(0) / 1_000 - 1_000_000;
    let end_us = clock.nanos(1_000) / 1_000 + 1_000_000;
    let window = format!("start={start}&end={end_us}");
    for (query, expected) in [
        ("service=api", vec![&api_trace]),
        (
            "service=worker&tags=%7B%22error%22%3A%22true%22%7D",
            vec![&worker_trace],
        ),
        ("service=api&tags=%7B%22error%22%3A%22true%22%7D", vec![]),
        ("service=api&operation=lookup", vec![]),
        ("service=users&operation=lookup", vec![&api_trace]),
        ("service=worker&minDuration=50ms", vec![&worker_trace]),
        ("service=worker&minDuration=1s", vec![]),
        ("service=api&maxDuration=10ms", vec![]),
        (
            "service=api&tags=%7B%22http.route%22%3A%22%2Fusers%2F%7Bid%7D%22%7D",
            vec![&api_trace],
        ),
    ] {
        let (status, body) = app
            .get_json(&format!("/jaeger/api/traces?{window}&{query}&limit=20"))
            .await?;
        assert_eq!(status, 200, "{query}: {body}");
        let found: Vec<String> = body["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|trace| {
                assert_jaeger_trace_shape(trace);
                trace["traceID"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(found, expected, "{query}");
        assert_envelope(&body, found.len());
    }
    let (_, body) = app
        .get_json(&format!("/jaeger/api/traces?{window}&service=api&limit=20"))
        .await?;
    assert_eq!(
        body["data"][0]["spans"].as_array().map(Vec::len),
        Some(3),
        "search returns whole traces"
    );

    let end_ms = clock.nanos(1_000) / 1_000_000 + 1_000;
    let (status, body) = app
        .get_json(&format!(
            "/jaeger/api/dependencies?endTs={end_ms}&lookback=3600000"
        ))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([{"parent": "api", "child": "users", "callCount": 1}])
    );

    // Errors in Jaeger's envelope.
    let (status, body) = app
        .get_json("/jaeger/api/traces/00000000000000000000000000000001")
        .await?;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["code"], 404);
    let (status, body) = app
        .get_json("/jaeger/api/traces?service=api&minDuration=soon")
        .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], 400);
    app.stop().await
}
