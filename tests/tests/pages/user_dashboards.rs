//! User dashboards (`dashboards_dir`) against a Tracehouse filled with a
//! small scenario: a function with cold starts and a failure, and one whose
//! name is hostile markup. A valid dashboard draws every chart kind in the
//! frame, escaped, under the Content-Security-Policy; a refused file shows
//! its file, line and field with a 500 while the others keep working.

use serde_json::{json, Value};
use std::path::Path;
use tracehouse_tests::chaos::ChaosProxy;
use tracehouse_tests::{clickhouse, now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const HOSTILE: &str = "<svg onload=alert(1)>";
const FRAME: &str = "from=now-1h&to=now&project=default";

/// Every chart kind; its title and a function name are hostile markup.
const TEAM: &str = include_str!("../../dashboards/team.yaml");

const ONE_FUNCTION: &str = "\
name: one-function
title: One function
per_function: true
panels:
  - title: Cold against warm
    query: latency_histogram
    chart: bar
    unit: ms
    place: { row: 1, column: 1, width: 6 }
  - title: Its invocations
    query: invocations_and_errors
    chart: stacked
    unit: count
    place: { row: 1, column: 7, width: 6 }
";

fn text(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// `count` invocations of `function`, 30 s apart from `start`; the first is cold,
/// the second failed.
fn invocations(function: &str, prefix: &str, start: u64, count: u64) -> Value {
    let spans: Vec<Value> = (0..count)
        .map(|index| {
            let begin = start + index * 30 * SECOND;
            let mut span = json!({
                "traceId": format!("{prefix}{index:028x}"), "spanId": format!("{:016x}", index + 1),
                "name": "handle", "kind": 2, "startTimeUnixNano": begin.to_string(),
                "endTimeUnixNano": (begin + (40 + 10 * index) * MS).to_string(),
                "attributes": [{"key": "faas.coldstart", "value": {"boolValue": index == 0}}],
            });
            if index == 1 {
                span["status"] = json!({"code": 2, "message": "failed"});
            }
            span
        })
        .collect();
    json!({
        "resource": {"attributes": [
            text("service.name", function), text("faas.name", function), text("cloud.provider", "aws"),
            text("cloud.region", "eu-west-1"), text("host.arch", "x86_64"),
            {"key": "faas.max_memory", "value": {"intValue": "512"}},
            text("faas.instance", &format!("{function}-instance")),
        ]},
        "scopeSpans": [{"scope": {"name": "user-dashboards"}, "spans": spans}]
    })
}

async fn fill(app: &TestApp) -> anyhow::Result<()> {
    let start = now_unix_nanos() - 20 * 60 * SECOND;
    let body = json!({"resourceSpans": [
        invocations("checkout", "ab01", start, 6),
        invocations(HOSTILE, "ab02", start, 3),
    ]});
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), 200, "{}", response.text().await?);
    app.wait_for_json("/api/v1/functions", |body| {
        body["totals"]["invocations"] == 9
    })
    .await?;
    Ok(())
}

fn write_dashboards(dir: &Path) -> anyhow::Result<()> {
    std::fs::write(dir.join("team.yaml"), TEAM)?;
    std::fs::write(dir.join("one-function.yml"), ONE_FUNCTION)?;
    let broken = TEAM
        .replace("name: team", "name: broken")
        .replace("chart: table", "chart: pie");
    std::fs::write(dir.join("broken.yaml"), broken)?;
    Ok(())
}

fn assert_framed_and_escaped(path: &str, policy: &str, html: &str) {
    assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
    assert!(
        html.contains("<nav") && html.contains(">Dashboards</a>"),
        "{path}"
    );
    assert!(
        !html.contains(HOSTILE) && !html.contains("<board>"),
        "{path}: unescaped"
    );
    assert!(
        !html.contains(" style=") && html.matches("<script").count() == 1,
        "{path}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_dashboards_draw_their_panels_and_refused_files_say_why() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_dashboards(dir.path())?;
    let dashboards_dir = dir.path().to_owned();
    let app = TestApp::start_with(|config| config.dashboards_dir = Some(dashboards_dir)).await?;
    fill(&app).await?;

    let path = format!("/dashboards/team?{FRAME}");
    let (status, policy, html) = app.get_page(&path).await?;
    assert_eq!(status, 200, "{html}");
    assert_framed_and_escaped(&path, &policy, &html);
    assert!(
        html.contains("Team &#60;board&#62;") || html.contains("Team &lt;board&gt;"),
        "{html}"
    );
    // A stat per figure, with its change and sparkline.
    assert!(
        html.contains("class=\"tile\"") && html.contains("<title>Invocations: "),
        "{html}"
    );
    assert!(html.contains("vs previous window"));
    // Line and stacked time series, bars and a table.
    for title in [
        "Checkout latency",
        "Cost by function",
        "Most expensive functions",
    ] {
        assert!(
            html.contains(&format!("<figcaption>{title}</figcaption>")),
            "{title}: {html}"
        );
    }
    assert!(
        html.contains("<th scope=\"col\">Cold-start rate</th>"),
        "{html}"
    );
    assert!(html.contains("p95") && html.contains("p50"));
    // Bars and rows link to the function, keeping range and project.
    let linked = format!("/functions/checkout?{}", FRAME.replace('&', "&amp;"));
    assert!(html.contains(&linked), "{html}");
    assert!(
        html.contains("/functions/%3Csvg%20onload%3Dalert%281%29%3E?"),
        "the hostile function links, encoded: {html}"
    );
    // Layout classes, no style attributes.
    assert!(html.contains("dash-panel col-7 span-6"), "{html}");
    // An unknown function is a message in its panel, not a failed page.
    assert!(
        html.contains("No data: function &#34;nobody&#34; not found in this time range."),
        "{html}"
    );

    // The index lists both, and says why the refused one was refused.
    let (status, policy, html) = app.get_page("/dashboards").await?;
    assert_eq!(status, 200);
    assert_framed_and_escaped("/dashboards", &policy, &html);
    assert!(html.contains("/dashboards/team?") && html.contains("/dashboards/one-function?"));
    assert!(
        html.contains("refused: ") && html.contains("broken.yaml, line 39"),
        "{html}"
    );

    // A refused file: 500, naming the file, the line and the field.
    let (status, policy, html) = app.get_page("/dashboards/broken").await?;
    assert_eq!(status, 500);
    assert_framed_and_escaped("/dashboards/broken", &policy, &html);
    assert!(
        html.contains("broken.yaml, line 39, column 12: panels[6].chart: unknown variant `pie`"),
        "{html}"
    );

    // Per function: the function comes from the page and stays in its links.
    let (status, _, html) = app.get_page("/dashboards/one-function").await?;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("?function=NAME"));
    let (status, policy, html) = app
        .get_page(&format!(
            "/dashboards/one-function?function=checkout&{FRAME}"
        ))
        .await?;
    assert_eq!(status, 200, "{html}");
    assert_framed_and_escaped("one-function", &policy, &html);
    assert!(
        html.contains("<figcaption>Cold against warm</figcaption>"),
        "{html}"
    );
    assert!(
        html.contains("function=checkout"),
        "range links keep the function: {html}"
    );
    let (status, _, html) = app
        .get_page(&format!(
            "/dashboards/one-function?function={}",
            "%3Csvg%20onload%3Dalert(1)%3E"
        ))
        .await?;
    assert_eq!(status, 200);
    assert!(!html.contains(HOSTILE), "{html}");

    let (status, _, html) = app.get_page("/dashboards/nothing-here").await?;
    assert_eq!(status, 404);
    assert!(html.contains("Dashboard not found"));

    // Refused files are counted.
    assert_eq!(app.metric("tracehouse_dashboard_files_refused").await?, 1.0);

    // The built-in pages still work next to user dashboards.
    let (status, _, html) = app.get_page("/").await?;
    assert_eq!(status, 200);
    assert!(html.contains("<figcaption>Cost by function</figcaption>"));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_down_is_a_503_dashboard_page() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_dashboards(dir.path())?;
    let dashboards_dir = dir.path().to_owned();
    let server = clickhouse().await?;
    let proxy = ChaosProxy::start(server.url().trim_start_matches("http://").parse()?).await?;
    let app = TestApp::start_via(proxy.url(), |config| {
        config.dashboards_dir = Some(dashboards_dir);
    })
    .await?;
    proxy.cut();
    let (status, policy, html) = app.get_page("/dashboards/team").await?;
    assert_eq!(status, 503);
    assert_framed_and_escaped("/dashboards/team", &policy, &html);
    assert!(html.contains("ClickHouse is not answering"), "{html}");
    proxy.restore();
    app.stop().await
}
