//! Every dashboard page against a Tracehouse filled with a known scenario:
//! a function whose second version is slower, cold starts, a function whose
//! names and attributes are hostile markup, a chain whose consumer fails,
//! and a function with a single invocation. Pages must answer at their
//! URLs, escape telemetry, carry the Content-Security-Policy, keep range
//! and project in their links, and answer errors with pages.

use serde_json::{json, Value};
use std::time::Duration;
use tracehouse_tests::chaos::ChaosProxy;
use tracehouse_tests::{clickhouse, now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const HOSTILE_FUNCTION: &str = "<svg onload=alert(1)>";
const HOSTILE_SERVICE: &str = "evil</script>\"'";
const HOSTILE_MESSAGE: &str = "<img src=x onerror=alert(1)>";
const HOSTILE_ATTRIBUTE: &str = "</script><script>alert(2)</script>";
const PRODUCER_TRACE: &str = "aaaa0000000000000000000000000001";
const CONSUMER_TRACE: &str = "bbbb0000000000000000000000000002";

fn text(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn resource(service: &str, function: &str, memory_mb: i64, version: &str) -> Value {
    json!({"attributes": [
        text("service.name", service), text("faas.name", function), text("cloud.provider", "aws"),
        text("cloud.region", "eu-west-1"), text("host.arch", "x86_64"), text("faas.version", version),
        {"key": "faas.max_memory", "value": {"intValue": memory_mb.to_string()}},
        text("faas.instance", &format!("{function}-{version}-instance"))
    ]})
}

struct Invocation<'a> {
    trace: String,
    start: u64,
    duration_ms: u64,
    cold: bool,
    error: Option<&'a str>,
}

fn span(invocation: &Invocation<'_>, index: usize) -> Value {
    let mut attributes = vec![
        json!({"key": "faas.coldstart", "value": {"boolValue": invocation.cold}}),
        text("note", HOSTILE_ATTRIBUTE),
    ];
    attributes.push(text("faas.trigger", "http"));
    let mut span = json!({
        "traceId": invocation.trace, "spanId": format!("{:016x}", index + 1), "name": "handle <request>",
        "kind": 2, "startTimeUnixNano": invocation.start.to_string(),
        "endTimeUnixNano": (invocation.start + invocation.duration_ms * MS).to_string(),
        "attributes": attributes,
    });
    if let Some(message) = invocation.error {
        span["status"] = json!({"code": 2, "message": message});
    }
    span
}

fn resource_spans(resource: Value, spans: Vec<Value>) -> Value {
    json!({"resource": resource, "scopeSpans": [{"scope": {"name": "dashboard-test"}, "spans": spans}]})
}

/// Ten invocations from `start`, 10 s apart; the first is cold.
fn version_spans(start: u64, warm_ms: u64, trace_prefix: &str) -> Vec<Value> {
    (0..10)
        .map(|index| {
            let invocation = Invocation {
                trace: format!("{trace_prefix}{index:028x}"),
                start: start + index as u64 * 10 * SECOND,
                duration_ms: if index == 0 { warm_ms + 300 } else { warm_ms },
                cold: index == 0,
                error: None,
            };
            span(&invocation, index)
        })
        .collect()
}

fn chain_spans(start: u64) -> Vec<Value> {
    let producer = json!({
        "traceId": PRODUCER_TRACE, "spanId": "00000000000000a1", "name": "POST /orders", "kind": 2,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 30 * MS).to_string()});
    let consumer = json!({
        "traceId": CONSUMER_TRACE, "spanId": "00000000000000b1", "name": "charge", "kind": 5,
        "startTimeUnixNano": (start + 530 * MS).to_string(), "endTimeUnixNano": (start + 600 * MS).to_string(),
        "links": [{"traceId": PRODUCER_TRACE, "spanId": "00000000000000a1"}],
        "status": {"code": 2, "message": "card declined"}});
    vec![
        resource_spans(resource("orders", "orders", 256, "1"), vec![producer]),
        resource_spans(resource("billing", "billing", 256, "1"), vec![consumer]),
    ]
}

fn hostile_spans(start: u64) -> Vec<Value> {
    (0..4)
        .map(|index| {
            span(
                &Invocation {
                    trace: format!("cccc{index:028x}"),
                    start: start + index as u64 * SECOND,
                    duration_ms: 15,
                    cold: false,
                    error: (index % 2 == 0).then_some(HOSTILE_MESSAGE),
                },
                index,
            )
        })
        .collect()
}

/// Sends the scenario and waits until the functions API sees all of it.
async fn fill(app: &TestApp) -> anyhow::Result<()> {
    let start = now_unix_nanos() - 20 * 60 * SECOND;
    let mut groups = vec![
        resource_spans(
            resource("resize-image", "resize-image", 1024, "v1"),
            version_spans(start, 20, "dd01"),
        ),
        resource_spans(
            resource("resize-image", "resize-image", 1024, "v2"),
            version_spans(start + 300 * SECOND, 80, "dd02"),
        ),
        resource_spans(
            resource(HOSTILE_SERVICE, HOSTILE_FUNCTION, 128, "1"),
            hostile_spans(start),
        ),
        resource_spans(
            resource("lonely", "lonely", 128, "1"),
            vec![span(
                &Invocation {
                    trace: "eeee0000000000000000000000000001".to_owned(),
                    start,
                    duration_ms: 5,
                    cold: false,
                    error: None,
                },
                0,
            )],
        ),
    ];
    groups.extend(chain_spans(start + 600 * SECOND));
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .json(&json!({"resourceSpans": groups}))
        .send()
        .await?;
    assert_eq!(response.status(), 200, "{}", response.text().await?);
    app.wait_for_json("/api/v1/functions", |body| {
        body["totals"]["invocations"] == 27
    })
    .await?;
    app.wait_for_trace(CONSUMER_TRACE, 1).await?;
    Ok(())
}

/// GET a page: status, Content-Security-Policy and body.
async fn page(app: &TestApp, path: &str) -> anyhow::Result<(u16, String, String)> {
    app.get_page(path).await
}

/// What every page must hold: the policy, the frame, and no telemetry left unescaped.
fn assert_safe_page(path: &str, policy: &str, html: &str) {
    assert!(
        policy.contains("default-src 'self'") && !policy.contains("unsafe"),
        "{path}: policy {policy:?}"
    );
    for raw in [
        HOSTILE_FUNCTION,
        HOSTILE_MESSAGE,
        HOSTILE_ATTRIBUTE,
        "</script>\"'",
        "onerror=alert(1)>",
    ] {
        assert!(!html.contains(raw), "{path}: unescaped {raw:?}");
    }
    assert!(
        !html.contains(" style=") && !html.contains("<style"),
        "{path}: inline style"
    );
    assert!(
        !html.contains(" onclick=") && !html.contains(" onload=\""),
        "{path}: inline handler"
    );
    assert_eq!(
        html.matches("<script").count(),
        1,
        "{path}: only the served script"
    );
    assert!(html.contains("<script src=\"/static/app."), "{path}");
    for section in [
        "Overview",
        "Functions",
        "Traces",
        "Broken chains",
        "Map",
        "Alerts",
    ] {
        assert!(
            html.contains(&format!(">{section}</a>")),
            "{path}: navigation lacks {section}"
        );
    }
    let zero_like = html.match_indices("$0.000000").any(|(at, found)| {
        let next = html[at + found.len()..].chars().next();
        !next.is_some_and(|character| character.is_ascii_digit())
    });
    assert!(!zero_like, "{path}: a cost reads as $0.000000");
}

fn escaped(html: &str, raw: &str) -> bool {
    let lt = raw
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let numeric = raw
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;");
    html.contains(lt.as_str()) || html.contains(numeric.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_answers_escaped_and_framed() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    fill(&app).await?;
    let frame = "from=now-1h&to=now&project=default";
    let hostile_path = format!("/functions/{}", "%3Csvg%20onload%3Dalert(1)%3E");
    let pages = [
        "/".to_owned(),
        "/functions?sort=cost_usd&dir=desc".to_owned(),
        "/functions/resize-image".to_owned(),
        hostile_path.clone(),
        "/functions/lonely".to_owned(),
        "/traces".to_owned(),
        format!("/traces/{CONSUMER_TRACE}"),
        format!("/chains/{CONSUMER_TRACE}"),
        "/chains/broken".to_owned(),
        "/map".to_owned(),
        "/map?color=cost".to_owned(),
    ];
    for path in &pages {
        let (status, policy, html) = page(&app, path).await?;
        assert_eq!(status, 200, "{path}: {html}");
        assert_safe_page(path, &policy, &html);
        let kept = ["&amp;", "&#38;"]
            .iter()
            .any(|amp| html.contains(&frame.replace('&', amp)));
        assert!(kept, "{path}: links keep range and project");
    }

    // Overview: the figures and the top lists name the functions.
    let (_, _, html) = page(&app, "/").await?;
    assert!(html.contains("Most expensive functions") && html.contains("resize-image"));
    assert!(html.contains("<title>Invocations: ") && html.contains("class=\"sparkline\""));
    assert!(
        escaped(&html, HOSTILE_FUNCTION),
        "the hostile function is listed, escaped"
    );
    let most_expensive = &html[html.find("id=\"most-expensive\"").unwrap_or(0)..];
    assert!(most_expensive.find("resize-image") < most_expensive.find("lonely"));

    // Function list: sorted on the server, filtered by name.
    let (_, _, html) = page(&app, "/functions?sort=invocations&dir=asc").await?;
    let lonely = html.find("/functions/lonely").expect("lonely listed");
    let resize = html.find("/functions/resize-image").expect("resize listed");
    assert!(lonely < resize, "fewest invocations first");
    assert!(html.contains("aria-sort=\"ascending\""));
    let (_, _, html) = page(&app, "/functions?name=resize").await?;
    assert!(html.contains("/functions/resize-image") && !html.contains("/functions/lonely"));

    // One function: versions side by side, the slower deploy marked, cold starts explained.
    let (_, _, html) = page(&app, "/functions/resize-image").await?;
    assert!(
        html.contains("<code>v1</code>") && html.contains("<code>v2</code>"),
        "{html}"
    );
    assert!(html.contains("slower"), "v2 is marked slower");
    assert!(
        html.contains("2 of 20 invocations (10.0%) were cold starts"),
        "{html}"
    );
    assert!(html.contains("Latency, cold against warm"));
    assert!(
        html.contains(&format!("/traces/dd01{:028x}?", 0)),
        "recent cold start links to its trace"
    );

    // A hostile function's page and trace keep everything escaped.
    let (_, _, html) = page(&app, &hostile_path).await?;
    assert!(escaped(&html, HOSTILE_FUNCTION));
    let (_, policy, html) = page(&app, &format!("/traces/cccc{:028x}", 0)).await?;
    assert_safe_page("hostile trace", &policy, &html);
    assert!(escaped(&html, HOSTILE_MESSAGE) && escaped(&html, "evil</script>"));

    // Search finds the failed consumer; the id box jumps to the trace.
    let (_, _, html) = page(&app, "/traces?service=billing&status=error").await?;
    assert!(
        html.contains(&format!("/traces/{CONSUMER_TRACE}?")),
        "{html}"
    );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .get(format!(
            "{}/traces?id={}&{frame}",
            app.http_url(),
            CONSUMER_TRACE.to_uppercase()
        ))
        .send()
        .await?;
    assert!(response.status().is_redirection());
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok()),
        Some(format!("/traces/{CONSUMER_TRACE}?{frame}").as_str())
    );

    // The trace shows what it links to; the chain names the root cause.
    let (_, _, html) = page(&app, &format!("/traces/{CONSUMER_TRACE}")).await?;
    assert!(
        html.contains("Links to")
            && html.contains(PRODUCER_TRACE)
            && html.contains("card declined")
    );
    let (_, _, html) = page(&app, &format!("/chains/{CONSUMER_TRACE}")).await?;
    assert!(html.contains("id=\"root-cause\"") && html.contains("card declined"));
    assert!(
        html.contains("class=\"node critical error root-cause\""),
        "{html}"
    );
    assert!(
        html.contains("link · waited 500 ms"),
        "the edge carries the queue wait: {html}"
    );

    // The stylesheet and script the pages name are served, cacheable.
    let (_, _, html) = page(&app, "/").await?;
    let css = html
        .split("href=\"/static/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("stylesheet");
    let response = app
        .http
        .get(format!("{}/static/{css}", app.http_url()))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()?
        .starts_with("text/css"));
    assert!(response.headers()["cache-control"]
        .to_str()?
        .contains("immutable"));
    assert!(response
        .text()
        .await?
        .contains("prefers-color-scheme: dark"));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_unknown_and_bad_requests_get_pages() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (status, policy, html) = page(&app, "/").await?;
    assert_eq!(status, 200);
    assert!(!policy.is_empty());
    assert!(html.contains("id=\"empty-state\"") && html.contains(&app.otlp_http_url()));
    assert!(html.contains("OTEL_EXPORTER_OTLP_ENDPOINT="), "{html}");
    // "not ready" contains "ready": look for the ready mark, and for the absence of the other.
    assert!(html.contains(r#"<span class="ok">ready</span>"#), "{html}");
    assert!(!html.contains("not ready"), "{html}");
    for path in ["/functions", "/traces", "/chains/broken", "/map"] {
        let (status, _, html) = page(&app, path).await?;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("class=\"empty\""), "{path} says it is empty");
    }
    let (status, _, html) = page(&app, "/functions/nothing-here").await?;
    assert_eq!(status, 404);
    assert!(
        html.contains("Function not found") && html.contains("<nav"),
        "{html}"
    );
    let (status, _, html) = page(&app, "/traces/0af7651916cd43dd8448eb211c80319d").await?;
    assert_eq!(status, 404);
    assert!(html.contains("not found"));
    let (status, _, html) = page(&app, "/traces/zzz").await?;
    assert_eq!(status, 400);
    assert!(html.contains("Bad trace id"));
    let (status, _, html) = page(&app, "/functions?from=yesterday").await?;
    assert_eq!(status, 400);
    assert!(html.contains("from:"), "{html}");
    let (status, _, _) = page(&app, "/?project=Not%20A%20Project").await?;
    assert_eq!(status, 400);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_down_is_a_503_page() -> anyhow::Result<()> {
    let server = clickhouse().await?;
    let proxy = ChaosProxy::start(server.url().trim_start_matches("http://").parse()?).await?;
    let app = TestApp::start_via(proxy.url(), |config| {
        config.batch_max_age = Duration::from_millis(50).into();
    })
    .await?;
    proxy.cut();
    for path in ["/", "/functions", "/functions/resize-image", "/map"] {
        let (status, policy, html) = page(&app, path).await?;
        assert_eq!(status, 503, "{path}");
        assert!(!policy.is_empty());
        assert!(
            html.contains("ClickHouse is not answering") && html.contains("<nav"),
            "{path}: {html}"
        );
    }
    proxy.restore();
    app.stop().await
}
