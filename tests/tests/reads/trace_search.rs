//! Trace search, services, operations and the service map over traces
//! sent with the OpenTelemetry SDK.

use crate::support;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use serde_json::{json, Value};
use std::time::Duration;
use support::{end, trace_hex, Clock, Function, Step};
use tracehouse_tests::TestApp;

struct Sent {
    clock: Clock,
    cart: String,
    pay: String,
    nightly: String,
}

/// checkout GET /cart [0, 30] calls inventory SELECT stock [5, 20];
/// checkout POST /pay [100, 400] fails; billing nightly job [200, 210].
async fn send(app: &TestApp) -> anyhow::Result<Sent> {
    let clock = Clock::started_ago(Duration::from_secs(30));
    let checkout = Function::new(&app.otlp_grpc_url(), "checkout")?;
    let inventory = Function::new(&app.otlp_grpc_url(), "inventory")?;
    let billing = Function::new(&app.otlp_grpc_url(), "billing")?;
    let no_parent = Context::new();

    let cart = checkout.start(
        Step::new("GET /cart", SpanKind::Server, &no_parent, clock.at(0))
            .attributes(vec![KeyValue::new("http.route", "/cart")]),
    );
    let stock = inventory.start(
        Step::new("SELECT stock", SpanKind::Server, &cart, clock.at(5))
            .attributes(vec![KeyValue::new("db.system", "postgresql")]),
    );
    end(&stock, clock.at(20), None);
    end(&cart, clock.at(30), None);
    let pay = checkout.start(
        Step::new("POST /pay", SpanKind::Server, &no_parent, clock.at(100))
            .attributes(vec![KeyValue::new("http.route", "/pay")]),
    );
    end(&pay, clock.at(400), Some("card declined"));
    let nightly = billing.start(Step::new(
        "nightly job",
        SpanKind::Internal,
        &no_parent,
        clock.at(200),
    ));
    end(&nightly, clock.at(210), None);

    let sent = Sent {
        clock,
        cart: trace_hex(&cart),
        pay: trace_hex(&pay),
        nightly: trace_hex(&nightly),
    };
    for function in [checkout, inventory, billing] {
        function.shutdown().await?;
    }
    app.wait_for_trace(&sent.cart, 2).await?;
    app.wait_for_trace(&sent.pay, 1).await?;
    app.wait_for_trace(&sent.nightly, 1).await?;
    Ok(sent)
}

fn trace_ids(body: &Value) -> Vec<String> {
    body["traces"]
        .as_array()
        .map(|traces| {
            traces
                .iter()
                .map(|trace| trace["trace_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn search_filters_pages_and_summarizes_traces() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let sent = send(&app).await?;

    let (status, all) = app.get_json("/api/v1/traces").await?;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        trace_ids(&all),
        vec![sent.nightly.clone(), sent.pay.clone(), sent.cart.clone()]
    );
    assert_eq!(
        all["traces"][2],
        json!({
            "trace_id": sent.cart, "root_service": "checkout", "root_name": "GET /cart",
            "start_time_unix_nano": sent.clock.nanos(0), "duration_ms": 30.0,
            "span_count": 2, "error_count": 0, "services": ["checkout", "inventory"],
        })
    );
    assert_eq!(all["traces"][1]["error_count"], 1);
    assert_eq!(all["next_cursor"], Value::Null);

    for (query, expected) in [
        ("service=inventory", vec![&sent.cart]),
        ("function=inventory", vec![&sent.cart]),
        ("status=error", vec![&sent.pay]),
        ("min_duration_ms=50", vec![&sent.pay]),
        ("max_duration_ms=20", vec![&sent.nightly]),
        ("attr.http.route=/pay", vec![&sent.pay]),
        ("attr.db.system=postgresql", vec![&sent.cart]),
        ("attr.service.name=billing", vec![&sent.nightly]),
        ("service=billing&name=nightly%20job", vec![&sent.nightly]),
        ("service=checkout&name=nightly%20job", vec![]),
        ("from=now-2h&to=now-1h", vec![]),
        ("from=now-10s", vec![]),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/traces?{query}")).await?;
        assert_eq!(status, 200, "{query}: {body}");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(trace_ids(&body), expected, "{query}");
    }

    let (_, first_page) = app.get_json("/api/v1/traces?limit=2").await?;
    assert_eq!(
        trace_ids(&first_page),
        vec![sent.nightly.clone(), sent.pay.clone()]
    );
    let cursor = first_page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second_page) = app
        .get_json(&format!("/api/v1/traces?limit=2&cursor={cursor}"))
        .await?;
    assert_eq!(trace_ids(&second_page), vec![sent.cart.clone()]);
    assert_eq!(second_page["next_cursor"], Value::Null);

    // Trace-level filters drop candidates: pages may be short, the cursor still leads on.
    let (_, errors_page) = app.get_json("/api/v1/traces?status=error&limit=1").await?;
    assert_eq!(trace_ids(&errors_page), vec![sent.pay.clone()]);
    let cursor = errors_page["next_cursor"]
        .as_str()
        .expect("more candidates")
        .to_owned();
    let (_, rest) = app
        .get_json(&format!(
            "/api/v1/traces?status=error&limit=1&cursor={cursor}"
        ))
        .await?;
    assert_eq!(trace_ids(&rest), Vec::<String>::new());
    assert_eq!(rest["next_cursor"], Value::Null);

    for (query, parameter) in [
        ("min_duration_ms=abc", "min_duration_ms"),
        ("limit=0", "limit"),
        ("status=broken", "status"),
        ("cursor=zz", "cursor"),
        ("sevice=x", "sevice"),
        ("from=now-1h&to=now-2h", "from"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/traces?{query}")).await?;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .starts_with(parameter),
            "{query}: {body}"
        );
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn services_operations_and_map() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    send(&app).await?;

    let (status, body) = app.get_json("/api/v1/services").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"services": ["billing", "checkout", "inventory"]})
    );

    let (status, body) = app.get_json("/api/v1/services/checkout/operations").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"service": "checkout", "operations": [
            {"name": "GET /cart", "span_kind": "server", "span_count": 1},
            {"name": "POST /pay", "span_kind": "server", "span_count": 1},
        ]})
    );

    let (status, map) = app.get_json("/api/v1/map").await?;
    assert_eq!(status, 200, "{map}");
    assert_eq!(
        map["nodes"],
        json!([
            {"id": "billing", "kind": "service"},
            {"id": "checkout", "kind": "service"},
            {"id": "inventory", "kind": "service"},
        ])
    );
    assert_eq!(
        map["edges"],
        json!([{"source": "checkout", "target": "inventory", "kind": "calls",
                "request_count": 1, "error_count": 0, "error_rate": 0.0, "p95_ms": 15.0}])
    );
    app.stop().await
}

/// The narrowed windows of the search keep the whole window's order: trace
/// A matches 10 minutes ago and again 1 minute ago, trace B only 2 minutes
/// ago. Over the window B's first match is the newer, so a page of one is
/// B, though within the last 5 minutes A's first match would look newer.
#[tokio::test(flavor = "multi_thread")]
async fn narrowed_windows_keep_the_order_of_the_whole_window() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let now = tracehouse_tests::now_unix_nanos() / 1_000_000_000;
    for (trace, minutes_ago, span) in [("aa", 10, 1), ("aa", 1, 2), ("bb", 2, 3)] {
        app.clickhouse_client()
            .query(
                "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, trace_id, span_id, service, name) \
                 VALUES ('default', toDateTime(?), ? * 1000000000, ? * 1000000000 + 1000, \
                 toFixedString(unhex(?), 16), toFixedString(unhex(?), 8), 'narrow', 'op')",
            )
            .bind(now - minutes_ago * 60)
            .bind(now - minutes_ago * 60)
            .bind(now - minutes_ago * 60)
            .bind(trace.repeat(16))
            .bind(format!("{span:016x}"))
            .execute()
            .await?;
    }
    let (status, page) = app
        .get_json("/api/v1/traces?service=narrow&limit=1&from=now-1h")
        .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["traces"][0]["trace_id"], "bb".repeat(16), "{page}");
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, next) = app
        .get_json(&format!(
            "/api/v1/traces?service=narrow&limit=1&from=now-1h&cursor={cursor}"
        ))
        .await?;
    assert_eq!(next["traces"][0]["trace_id"], "aa".repeat(16), "{next}");
    app.stop().await
}
