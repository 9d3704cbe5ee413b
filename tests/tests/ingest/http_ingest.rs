//! OTLP/HTTP ingest with hand-built payloads: JSON and protobuf, gzip,
//! malformed bodies, partial success, limits and metrics.

use flate2::write::GzEncoder;
use prost::Message;
use serde_json::{json, Value};
use std::io::Write;
use tracehouse_tests::{now_unix_nanos, TestApp};

fn json_request(trace_id: &str, spans: Vec<Value>) -> Value {
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "orders"}},
                {"key": "faas.max_memory", "value": {"intValue": "134217728"}}
            ]},
            "scopeSpans": [{
                "scope": {"name": "manual", "version": "0.1"},
                "spans": spans.into_iter().map(|mut span| {
                    span["traceId"] = json!(trace_id);
                    span
                }).collect::<Vec<_>>()
            }]
        }]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn json_spans_round_trip_with_otlp_json_mapping() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let start = now_unix_nanos();
    let trace_id = "5b8efff798038103d269b633813fc60c";
    let body = json_request(
        trace_id,
        vec![
            json!({
                "spanId": "eee19b7ec3c1b174", "name": "GET /orders", "kind": 2,
                "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 1_500_000).to_string(),
                "attributes": [
                    {"key": "http.status_code", "value": {"intValue": "500"}},
                    {"key": "ratio", "value": {"doubleValue": 0.25}},
                    {"key": "ok", "value": {"boolValue": false}},
                    {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
                    {"key": "raw", "value": {"bytesValue": "3q2+7w=="}}
                ],
                "events": [{"timeUnixNano": (start + 10).to_string(), "name": "exception",
                            "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}],
                "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                           "attributes": [{"key": "messaging.message.id", "value": {"stringValue": "m-1"}}]}],
                "status": {"code": 2, "message": "database timed out"}
            }),
            json!({
                "spanId": "aaa19b7ec3c1b174", "parentSpanId": "eee19b7ec3c1b174", "name": "SELECT", "kind": 3,
                "startTimeUnixNano": (start + 100).to_string(), "endTimeUnixNano": (start + 900).to_string()
            }),
        ],
    );
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response.json().await?;
    assert!(
        answer
            .get("partialSuccess")
            .is_none_or(|partial| partial.is_null()),
        "{answer}"
    );

    let trace = app.wait_for_trace(trace_id, 2).await?;
    assert_eq!(trace["trace_id"], trace_id);
    let spans = trace["spans"].as_array().expect("spans array");
    let root = &spans[0];
    assert_eq!(root["span_id"], "eee19b7ec3c1b174");
    assert_eq!(root["parent_span_id"], "");
    assert_eq!(root["name"], "GET /orders");
    assert_eq!(root["kind"], "server");
    assert_eq!(root["service"], "orders");
    assert_eq!(root["start_time_unix_nano"], start);
    assert_eq!(root["duration_ns"], 1_500_000);
    assert_eq!(root["status_code"], "error");
    assert_eq!(root["status_message"], "database timed out");
    assert_eq!(
        root["attributes"],
        json!({"http.status_code": 500, "ratio": 0.25, "ok": false, "tags": ["a", 2], "raw": "deadbeef"})
    );
    assert_eq!(
        root["resource"],
        json!({"service.name": "orders", "faas.max_memory": 134217728})
    );
    assert_eq!(root["scope"], json!({"name": "manual", "version": "0.1"}));
    assert_eq!(
        root["events"],
        json!([{"time_unix_nano": start + 10, "name": "exception", "attributes": {"exception.message": "boom"}}])
    );
    assert_eq!(
        root["links"],
        json!([{"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
                "trace_state": "", "attributes": {"messaging.message.id": "m-1"}}])
    );
    assert_eq!(spans[1]["parent_span_id"], "eee19b7ec3c1b174");
    assert_eq!(spans[1]["kind"], "client");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_payloads_get_clear_errors_and_partial_success_counts_rejections() -> anyhow::Result<()>
{
    let app = TestApp::start_with(|config| config.max_request_bytes = 64 * 1024).await?;
    let url = format!("{}/v1/traces", app.otlp_http_url());

    // Malformed JSON: 400 with a message, in JSON.
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"resourceSpans\": [")
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await?;
    assert_eq!(error["code"], 3);
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("JSON body could not be decoded"),
        "{error}"
    );

    // Malformed protobuf: 400 with a google.rpc.Status body.
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    let status = tracehouse_collector_status(&response.bytes().await?)?;
    assert!(
        status.contains("protobuf body could not be decoded"),
        "{status}"
    );

    // Unknown content type: 415.
    let response = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await?;
    assert_eq!(response.status(), 415);

    // Too large, plain and as a gzip bomb: 413.
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b' '; 65 * 1024])
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b' '; 10 * 1024 * 1024])?;
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(encoder.finish()?)
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await?;
    assert!(
        error["message"].as_str().unwrap_or("").contains("65536"),
        "{error}"
    );

    // Partial success: one good span, one with a bad span id, one far in the past.
    let start = now_unix_nanos();
    let trace_id = "1b8efff798038103d269b633813fc60c";
    let body = json_request(
        trace_id,
        vec![
            json!({"spanId": "1111111111111111", "name": "good", "startTimeUnixNano": start.to_string(),
                   "endTimeUnixNano": (start + 5).to_string()}),
            json!({"spanId": "0000000000000000", "name": "zero id", "startTimeUnixNano": start.to_string()}),
            json!({"spanId": "2222222222222222", "name": "ancient", "startTimeUnixNano": "1000"}),
        ],
    );
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(serde_json::to_string(&body)?.as_bytes())?;
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(encoder.finish()?)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await?;
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], 2, "{answer}");
    let message = answer["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap_or("");
    assert!(
        message.contains("1 invalid_span_id") && message.contains("1 timestamp_out_of_range"),
        "{message}"
    );
    let trace = app.wait_for_trace(trace_id, 1).await?;
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(1));

    // The counters saw all of it.
    assert_eq!(
        app.metric("tracehouse_received_items_total{signal=\"traces\"}")
            .await?,
        3.0
    );
    assert_eq!(
        app.metric("tracehouse_accepted_items_total{signal=\"traces\"}")
            .await?,
        1.0
    );
    assert_eq!(
        app.metric("tracehouse_rejected_items_total{signal=\"traces\",reason=\"invalid_span_id\"}")
            .await?,
        1.0
    );
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"traces\",transport=\"http\",outcome=\"invalid\"}")
            .await?,
        3.0
    );
    assert_eq!(
        app.metric("tracehouse_otlp_requests_total{signal=\"traces\",transport=\"http\",outcome=\"too_large\"}")
            .await?,
        2.0
    );
    assert_eq!(
        app.wait_for_metric("tracehouse_writer_rows_written_total{table=\"spans\"}", 1.0)
            .await?,
        1.0,
        "rows written, once the writer has counted them"
    );

    // Unknown and malformed trace ids on the query API.
    let (status, body) = app
        .get_json("/api/v1/traces/0af7651916cd43dd8448eb211c80319d")
        .await?;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap_or("").contains("not found"));
    let (status, body) = app.get_json("/api/v1/traces/not-hex").await?;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap_or("").contains("trace_id"));
    app.stop().await
}

/// Decodes a `google.rpc.Status` body to its message.
fn tracehouse_collector_status(bytes: &[u8]) -> anyhow::Result<String> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let status = RpcStatus::decode(bytes)?;
    assert_eq!(status.code, 3);
    Ok(status.message)
}
