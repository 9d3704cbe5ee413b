//! Causal chains across traces, built with the OpenTelemetry SDK: new
//! traces linked to their messages, consumers continuing the producer's
//! trace, a batch consumer, a consumer found by message id alone, a lost
//! message, retries that never succeed, and an upstream error that
//! causes a downstream one. Known answers come from what the test sent.

use crate::support;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use serde_json::{json, Value};
use std::time::Duration;
use support::{
    end, extract, extracted_span_context, inject, message_attributes, old_message_attributes,
    span_hex, trace_hex, Clock, Function, Step,
};
use tracehouse_tests::TestApp;

/// What the payment flow sent, for known answers.
struct PaymentFlow {
    api_trace: String,
    validate_trace: String,
    payment_trace: String,
    api_producer: String,
    validate_root: String,
    database_span: String,
    validate_producer: String,
    payment_root: String,
}

/// api (POST /checkout) publishes to `orders`; validate-user consumes it in
/// a new linked trace (cold start), times out on the database and fails,
/// still publishing to `payments`; payment consumes in a new linked trace
/// and fails three levels deep because the user was not validated.
///
/// Times in ms after the clock's base:
/// api:      POST /checkout [0, 40], publish orders [5, 10]
/// validate: process orders [100, 300] error, validate [110, 250] error,
///           SELECT users [120, 240] error (the cause), publish payments [260, 270]
/// payment:  process payments [400, 600] error, charge [410, 590] error,
///           authorize [420, 580] error, call bank [430, 570] error
async fn payment_flow(app: &TestApp, clock: Clock) -> anyhow::Result<PaymentFlow> {
    let api = Function::new(&app.otlp_grpc_url(), "api")?;
    let validate = Function::new(&app.otlp_grpc_url(), "validate-user")?;
    let payment = Function::new(&app.otlp_grpc_url(), "payment")?;
    let no_parent = Context::new();

    let checkout = api.start(Step::new(
        "POST /checkout",
        SpanKind::Server,
        &no_parent,
        clock.at(0),
    ));
    let publish_orders = api.start(
        Step::new("publish orders", SpanKind::Producer, &checkout, clock.at(5))
            .attributes(message_attributes("publish", "orders", "msg-1")),
    );
    let orders_message = inject(&publish_orders);
    end(&publish_orders, clock.at(10), None);
    end(&checkout, clock.at(40), None);

    let mut consumer_attributes = message_attributes("process", "orders", "msg-1");
    consumer_attributes.push(KeyValue::new("faas.coldstart", true));
    let process_orders = validate.start(
        Step::new(
            "process orders",
            SpanKind::Consumer,
            &no_parent,
            clock.at(100),
        )
        .attributes(consumer_attributes)
        .links(vec![extracted_span_context(&orders_message)]),
    );
    let validate_span = validate.start(Step::new(
        "validate",
        SpanKind::Internal,
        &process_orders,
        clock.at(110),
    ));
    let select_users = validate.start(
        Step::new(
            "SELECT users",
            SpanKind::Client,
            &validate_span,
            clock.at(120),
        )
        .attributes(vec![KeyValue::new("db.system", "postgresql")]),
    );
    end(
        &select_users,
        clock.at(240),
        Some("database connection timed out"),
    );
    end(&validate_span, clock.at(250), Some("user lookup failed"));
    let publish_payments = validate.start(
        Step::new(
            "publish payments",
            SpanKind::Producer,
            &process_orders,
            clock.at(260),
        )
        .attributes(message_attributes("publish", "payments", "msg-2")),
    );
    let payments_message = inject(&publish_payments);
    end(&publish_payments, clock.at(270), None);
    end(
        &process_orders,
        clock.at(300),
        Some("user validation failed"),
    );

    let process_payments = payment.start(
        Step::new(
            "process payments",
            SpanKind::Consumer,
            &no_parent,
            clock.at(400),
        )
        .attributes(message_attributes("process", "payments", "msg-2"))
        .links(vec![extracted_span_context(&payments_message)]),
    );
    let charge = payment.start(Step::new(
        "charge",
        SpanKind::Internal,
        &process_payments,
        clock.at(410),
    ));
    let authorize = payment.start(Step::new(
        "authorize",
        SpanKind::Internal,
        &charge,
        clock.at(420),
    ));
    let call_bank = payment.start(Step::new(
        "call bank",
        SpanKind::Client,
        &authorize,
        clock.at(430),
    ));
    end(&call_bank, clock.at(570), Some("user not validated"));
    end(&authorize, clock.at(580), Some("authorization refused"));
    end(&charge, clock.at(590), Some("charge failed"));
    end(&process_payments, clock.at(600), Some("payment failed"));

    let flow = PaymentFlow {
        api_trace: trace_hex(&checkout),
        validate_trace: trace_hex(&process_orders),
        payment_trace: trace_hex(&process_payments),
        api_producer: span_hex(&publish_orders),
        validate_root: span_hex(&process_orders),
        database_span: span_hex(&select_users),
        validate_producer: span_hex(&publish_payments),
        payment_root: span_hex(&process_payments),
    };
    for function in [api, validate, payment] {
        function.shutdown().await?;
    }
    app.wait_for_trace(&flow.api_trace, 2).await?;
    app.wait_for_trace(&flow.validate_trace, 4).await?;
    app.wait_for_trace(&flow.payment_trace, 4).await?;
    Ok(flow)
}

fn path_summary(chain: &Value) -> Vec<(String, String, f64, bool)> {
    chain["critical_path"]
        .as_array()
        .expect("critical_path array")
        .iter()
        .map(|step| {
            (
                step["kind"].as_str().unwrap_or_default().to_owned(),
                step["name"].as_str().unwrap_or_default().to_owned(),
                step["self_ms"].as_f64().unwrap_or(f64::NAN),
                step["cold_start"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn linked_traces_form_one_chain_with_the_upstream_root_cause() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let clock = Clock::started_ago(Duration::from_secs(60));
    let flow = payment_flow(&app, clock).await?;

    // The same chain from every trace of it, in either link direction.
    let mut answers = Vec::new();
    for trace in [&flow.api_trace, &flow.validate_trace, &flow.payment_trace] {
        let (status, chain) = app.get_json(&format!("/api/v1/chains/{trace}")).await?;
        assert_eq!(status, 200, "{chain}");
        answers.push(chain);
    }
    for chain in &answers[1..] {
        assert_eq!(chain, &answers[0]);
    }
    let chain = &answers[0];
    assert_eq!(
        chain["trace_ids"],
        json!([flow.api_trace, flow.validate_trace, flow.payment_trace])
    );
    assert_eq!(
        sorted_edges(&chain["edges"]),
        sorted_edges(&json!([
            {"from_trace_id": flow.api_trace, "from_span_id": flow.api_producer,
             "to_trace_id": flow.validate_trace, "to_span_id": flow.validate_root, "kind": "link"},
            {"from_trace_id": flow.validate_trace, "from_span_id": flow.validate_producer,
             "to_trace_id": flow.payment_trace, "to_span_id": flow.payment_root, "kind": "link"},
        ]))
    );
    assert_eq!(chain["span_count"], 10);
    assert_eq!(chain["error_count"], 7);
    assert_eq!(chain["start_time_unix_nano"], clock.nanos(0));
    assert_eq!(chain["duration_ms"], 600.0);
    assert_eq!(chain["truncated"], false);
    // Three invocations (the entry spans of api, validate-user and payment),
    // one of them cold; AWS Lambda x86_64 at 128 MiB, billed per started ms
    // (deploy/pricing.toml: $0.20 per million requests, $0.0000166667 per GB-second).
    assert_eq!(chain["invocation_count"], 3);
    assert_eq!(chain["cold_starts"], 1);
    let billed_seconds = (40.0 + 200.0 + 200.0) / 1000.0;
    let expected_cost = 3.0 * 0.20 / 1e6 + billed_seconds * (128.0 / 1024.0) * 0.0000166667;
    let cost = chain["cost_usd"].as_f64().expect("cost_usd is known");
    assert!(
        (cost - expected_cost).abs() < 1e-12,
        "cost {cost}, expected {expected_cost}"
    );
    assert_eq!(chain["cost_unknown_reason"], Value::Null);

    // Not the first error in time (process orders) nor the deepest (call bank).
    assert_eq!(
        chain["root_cause"],
        json!({
            "trace_id": flow.validate_trace, "span_id": flow.database_span,
            "service": "validate-user", "name": "SELECT users",
            "status_message": "database connection timed out",
        })
    );

    let expected_path = vec![
        ("span", "POST /checkout", 5.0, false),
        ("span", "publish orders", 5.0, false),
        ("queue_wait", "queue wait orders", 90.0, false),
        ("span", "process orders", 160.0, true),
        ("span", "publish payments", 10.0, false),
        ("queue_wait", "queue wait payments", 130.0, false),
        ("span", "process payments", 200.0, false),
    ];
    let expected_path: Vec<(String, String, f64, bool)> = expected_path
        .into_iter()
        .map(|(kind, name, ms, cold)| (kind.to_owned(), name.to_owned(), ms, cold))
        .collect();
    assert_eq!(path_summary(chain), expected_path);
    let total: f64 = expected_path.iter().map(|step| step.2).sum();
    assert_eq!(total, 600.0, "the path accounts for the whole chain");

    // The dashboard page of the chain: root cause, path with the queue waits and the cold start.
    let (status, page) = app
        .get_text(&format!("/chains/{}", flow.payment_trace))
        .await?;
    assert_eq!(status, 200, "{page}");
    for expected in [
        "SELECT users: database connection timed out",
        "queue wait orders",
        "queue wait payments",
        "cold start",
        &format!("/traces/{}", flow.api_trace),
        &format!("/traces/{}", flow.validate_trace),
    ] {
        assert!(page.contains(expected), "chain page lacks {expected:?}");
    }
    let (status, _) = app
        .get_text("/chains/00000000000000000000000000000001")
        .await?;
    assert_eq!(status, 404);

    let (status, body) = app
        .get_json("/api/v1/chains/00000000000000000000000000000001")
        .await?;
    assert_eq!((status, body["error"].is_string()), (404, true), "{body}");
    let (status, body) = app.get_json("/api/v1/chains/not-a-trace").await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("trace_id"));
    app.stop().await
}

fn sorted_edges(edges: &Value) -> Vec<Value> {
    let mut edges = edges.as_array().cloned().unwrap_or_default();
    edges.sort_by_key(|edge| edge.to_string());
    edges
}

const UNSTORED_TRACE: &str = "000000000000000000000000000abcde";

#[tokio::test(flavor = "multi_thread")]
async fn continued_traces_batch_consumers_and_message_ids_join_the_chain() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let clock = Clock::started_ago(Duration::from_secs(60));
    let orders_api = Function::new(&app.otlp_grpc_url(), "orders-api")?;
    // email's telemetry lacks what pricing needs: the chain cost is unknown.
    let email = Function::unpriced(&app.otlp_grpc_url(), "email")?;
    let analytics = Function::new(&app.otlp_grpc_url(), "analytics")?;
    let audit = Function::new(&app.otlp_grpc_url(), "audit")?;
    let no_parent = Context::new();

    // orders-api: POST /orders [0, 50] publishes two messages.
    let post = orders_api.start(Step::new(
        "POST /orders",
        SpanKind::Server,
        &no_parent,
        clock.at(0),
    ));
    let first = orders_api.start(
        Step::new(
            "publish order-events",
            SpanKind::Producer,
            &post,
            clock.at(10),
        )
        .attributes(message_attributes("publish", "order-events", "msg-10")),
    );
    let first_message = inject(&first);
    end(&first, clock.at(12), None);
    let second = orders_api.start(
        Step::new(
            "publish order-events",
            SpanKind::Producer,
            &post,
            clock.at(20),
        )
        .attributes(message_attributes("publish", "order-events", "msg-11")),
    );
    let second_message = inject(&second);
    end(&second, clock.at(22), None);
    end(&post, clock.at(50), None);

    // email continues the producer's trace: [100, 150].
    let email_parent = extract(&first_message);
    let send_email = email.start(
        Step::new(
            "process order-events",
            SpanKind::Consumer,
            &email_parent,
            clock.at(100),
        )
        .attributes(message_attributes("process", "order-events", "msg-10")),
    );
    end(&send_email, clock.at(150), None);

    // analytics processes both messages as one batch in a new trace: [200, 260].
    // A third message came from a producer whose trace was never stored.
    let unstored = SpanContext::new(
        TraceId::from_hex(UNSTORED_TRACE)?,
        SpanId::from_hex("00000000000000ab")?,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let batch = analytics.start(
        Step::new(
            "process batch",
            SpanKind::Consumer,
            &no_parent,
            clock.at(200),
        )
        .attributes(vec![KeyValue::new("messaging.batch.message_count", 3)])
        .links(vec![
            extracted_span_context(&first_message),
            extracted_span_context(&second_message),
            unstored,
        ]),
    );
    end(&batch, clock.at(260), None);

    // audit drops the context and knows only the message id (old conventions): [300, 320].
    let audit_span = audit.start(
        Step::new("audit order", SpanKind::Internal, &no_parent, clock.at(300))
            .attributes(old_message_attributes("process", "order-events", "msg-11")),
    );
    end(&audit_span, clock.at(320), None);

    let (orders_trace, analytics_trace, audit_trace) =
        (trace_hex(&post), trace_hex(&batch), trace_hex(&audit_span));
    assert_eq!(
        trace_hex(&send_email),
        orders_trace,
        "email continues the trace"
    );
    for function in [orders_api, email, analytics, audit] {
        function.shutdown().await?;
    }
    app.wait_for_trace(&orders_trace, 4).await?;
    app.wait_for_trace(&analytics_trace, 1).await?;
    app.wait_for_trace(&audit_trace, 1).await?;

    let expected_edges = sorted_edges(&json!([
        {"from_trace_id": orders_trace, "from_span_id": span_hex(&first),
         "to_trace_id": analytics_trace, "to_span_id": span_hex(&batch), "kind": "link"},
        {"from_trace_id": orders_trace, "from_span_id": span_hex(&second),
         "to_trace_id": analytics_trace, "to_span_id": span_hex(&batch), "kind": "link"},
        {"from_trace_id": orders_trace, "from_span_id": span_hex(&second),
         "to_trace_id": audit_trace, "to_span_id": span_hex(&audit_span), "kind": "message"},
    ]));
    for start in [&audit_trace, &orders_trace, &analytics_trace] {
        let (status, chain) = app.get_json(&format!("/api/v1/chains/{start}")).await?;
        assert_eq!(status, 200, "{chain}");
        assert_eq!(
            chain["trace_ids"],
            json!([orders_trace, analytics_trace, audit_trace]),
            "from {start}"
        );
        assert_eq!(
            sorted_edges(&chain["edges"]),
            expected_edges,
            "from {start}"
        );
        assert_eq!(chain["span_count"], 6);
        assert_eq!(chain["error_count"], 0);
        assert_eq!(chain["root_cause"], Value::Null);
        assert_eq!(chain["duration_ms"], 320.0);
        // Invocations: POST /orders, email's consumer and the batch (audit's span is internal).
        assert_eq!(chain["invocation_count"], 3);
        assert_eq!(chain["cold_starts"], 0);
        assert_eq!(chain["cost_usd"], Value::Null);
        let reason = chain["cost_unknown_reason"].as_str().unwrap_or_default();
        assert!(reason.contains("\"email\""), "{reason}");
        // The audit span ends last; it waited for the second message.
        let expected: Vec<(String, String, f64, bool)> = [
            ("span", "POST /orders", 20.0),
            ("span", "publish order-events", 2.0),
            ("queue_wait", "queue wait order-events", 278.0),
            ("span", "audit order", 20.0),
        ]
        .into_iter()
        .map(|(kind, name, ms)| (kind.to_owned(), name.to_owned(), ms, false))
        .collect();
        assert_eq!(path_summary(&chain), expected, "from {start}");
    }
    // The event map: publishes and consumes through the destination, whether
    // the consumer carries the message id or only links to the message.
    let (status, map) = app.get_json("/api/v1/map").await?;
    assert_eq!(status, 200, "{map}");
    assert_eq!(
        map["nodes"],
        json!([
            {"id": "analytics", "kind": "service"},
            {"id": "audit", "kind": "service"},
            {"id": "email", "kind": "service"},
            {"id": "order-events", "kind": "destination"},
            {"id": "orders-api", "kind": "service"},
        ])
    );
    assert_eq!(
        sorted_edges(&map["edges"]),
        sorted_edges(&json!([
            {"source": "orders-api", "target": "order-events", "kind": "publishes",
             "request_count": 2, "error_count": 0, "error_rate": 0.0, "p95_ms": 2.0},
            {"source": "order-events", "target": "email", "kind": "consumes",
             "request_count": 1, "error_count": 0, "error_rate": 0.0, "p95_ms": 50.0},
            {"source": "order-events", "target": "audit", "kind": "consumes",
             "request_count": 1, "error_count": 0, "error_rate": 0.0, "p95_ms": 20.0},
            {"source": "order-events", "target": "analytics", "kind": "consumes",
             "request_count": 2, "error_count": 0, "error_rate": 0.0, "p95_ms": 60.0},
        ]))
    );

    // Linked to, but never stored: unknown.
    let (status, body) = app
        .get_json(&format!("/api/v1/chains/{UNSTORED_TRACE}"))
        .await?;
    assert_eq!(status, 404, "{body}");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_queries_stop_at_the_configured_trace_limit() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| config.chain_max_traces = 2).await?;
    let clock = Clock::started_ago(Duration::from_secs(60));
    let flow = payment_flow(&app, clock).await?;
    let (status, chain) = app
        .get_json(&format!("/api/v1/chains/{}", flow.api_trace))
        .await?;
    assert_eq!(status, 200, "{chain}");
    assert_eq!(chain["truncated"], true);
    assert_eq!(
        chain["trace_ids"],
        json!([flow.api_trace, flow.validate_trace])
    );
    assert_eq!(chain["span_count"], 6);
    app.stop().await
}

/// `chain_max_spans`: the payment chain has 10 spans, 6 of them in its first
/// two traces. A limit of 6 keeps those and says the chain is truncated; a
/// limit of exactly 10 reads the whole chain.
#[tokio::test(flavor = "multi_thread")]
async fn chain_queries_stop_at_the_configured_span_limit() -> anyhow::Result<()> {
    for (max_spans, truncated, span_count) in [(6, true, 6), (10, false, 10)] {
        let app = TestApp::start_with(|config| config.chain_max_spans = max_spans).await?;
        let clock = Clock::started_ago(Duration::from_secs(60));
        let flow = payment_flow(&app, clock).await?;
        let (status, chain) = app
            .get_json(&format!("/api/v1/chains/{}", flow.api_trace))
            .await?;
        assert_eq!(status, 200, "{chain}");
        assert_eq!(chain["truncated"], truncated, "limit {max_spans}: {chain}");
        assert_eq!(chain["span_count"], span_count, "limit {max_spans}");
        if truncated {
            assert_eq!(
                chain["trace_ids"],
                json!([flow.api_trace, flow.validate_trace])
            );
        }
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_chains_list_lost_messages_and_exhausted_retries() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let old = Clock::started_ago(Duration::from_secs(600));
    let recent = Clock::started_ago(Duration::from_secs(5));
    let signup = Function::new(&app.otlp_grpc_url(), "signup")?;
    let billing = Function::new(&app.otlp_grpc_url(), "billing")?;
    let invoicer = Function::new(&app.otlp_grpc_url(), "invoicer")?;
    let no_parent = Context::new();

    // Lost: published ten minutes ago, nobody consumed it.
    let register = signup.start(Step::new(
        "POST /signup",
        SpanKind::Server,
        &no_parent,
        old.at(0),
    ));
    let welcome = signup.start(
        Step::new("publish emails", SpanKind::Producer, &register, old.at(2))
            .attributes(message_attributes("publish", "emails", "msg-lost")),
    );
    end(&welcome, old.at(3), None);
    end(&register, old.at(10), None);
    // Not yet lost: published seconds ago.
    let fresh = signup.start(
        Step::new(
            "publish emails",
            SpanKind::Producer,
            &no_parent,
            recent.at(0),
        )
        .attributes(message_attributes("publish", "emails", "msg-fresh")),
    );
    end(&fresh, recent.at(1), None);

    // Poison: consumed three times, failing every time.
    let close = billing.start(
        Step::new(
            "publish invoices",
            SpanKind::Producer,
            &no_parent,
            old.at(20),
        )
        .attributes(message_attributes("publish", "invoices", "msg-poison")),
    );
    let poison_message = inject(&close);
    end(&close, old.at(21), None);
    let mut last_attempt = String::new();
    for attempt in 0..3u64 {
        let delivery = invoicer.start(
            Step::new(
                "process invoices",
                SpanKind::Consumer,
                &no_parent,
                old.at(100 + attempt * 100),
            )
            .attributes(message_attributes("process", "invoices", "msg-poison"))
            .links(vec![support::extracted_span_context(&poison_message)]),
        );
        end(
            &delivery,
            old.at(150 + attempt * 100),
            Some("invoice template missing"),
        );
        last_attempt = trace_hex(&delivery);
    }
    // Retried once and then succeeded: not broken.
    let flaky = billing.start(
        Step::new(
            "publish invoices",
            SpanKind::Producer,
            &no_parent,
            old.at(30),
        )
        .attributes(message_attributes("publish", "invoices", "msg-flaky")),
    );
    end(&flaky, old.at(31), None);
    for (attempt, error) in [(0u64, Some("timeout")), (1, None)] {
        let delivery = invoicer.start(
            Step::new(
                "process invoices",
                SpanKind::Consumer,
                &no_parent,
                old.at(500 + attempt * 100),
            )
            .attributes(message_attributes("process", "invoices", "msg-flaky")),
        );
        end(&delivery, old.at(550 + attempt * 100), error);
    }

    let (lost_trace, lost_span) = (trace_hex(&welcome), span_hex(&welcome));
    let fresh_trace = trace_hex(&fresh);
    let last_poison_trace = last_attempt.clone();
    for function in [signup, billing, invoicer] {
        function.shutdown().await?;
    }
    app.wait_for_trace(&lost_trace, 2).await?;
    app.wait_for_trace(&fresh_trace, 1).await?;
    app.wait_for_trace(&last_poison_trace, 1).await?;

    let (status, body) = app.get_json("/api/v1/chains/broken?from=now-1h").await?;
    assert_eq!(status, 200, "{body}");
    let broken = body["broken"].as_array().expect("broken array");
    let mut found: Vec<(String, String)> = broken
        .iter()
        .map(|entry| {
            (
                entry["message_id"].as_str().unwrap_or_default().to_owned(),
                entry["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("msg-lost".to_owned(), "not_consumed".to_owned()),
            ("msg-poison".to_owned(), "failed_after_retries".to_owned()),
        ]
    );
    let lost = broken
        .iter()
        .find(|entry| entry["message_id"] == "msg-lost")
        .expect("lost message listed");
    assert_eq!(lost["trace_id"], lost_trace);
    assert_eq!(lost["span_id"], lost_span);
    assert_eq!(lost["service"], "signup");
    assert_eq!(lost["destination"], "emails");
    assert_eq!(lost["publish_time_unix_nano"], old.nanos(2));
    let waited = lost["waited_ms"].as_f64().expect("waited_ms");
    assert!(waited >= 600_000.0, "waited {waited} ms");
    let poison = broken
        .iter()
        .find(|entry| entry["message_id"] == "msg-poison")
        .expect("poison message listed");
    assert_eq!(poison["trace_id"], last_poison_trace);
    assert_eq!(poison["service"], "invoicer");
    assert_eq!(poison["destination"], "invoices");
    assert_eq!(poison["failed_deliveries"], 3);
    assert_eq!(poison["publish_time_unix_nano"], old.nanos(20));

    // A window that ends before the messages were published lists nothing.
    let (status, body) = app
        .get_json("/api/v1/chains/broken?from=now-3h&to=now-2h")
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["broken"], json!([]));
    let (status, body) = app.get_json("/api/v1/chains/broken?from=yesterday").await?;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("from"));
    app.stop().await
}
