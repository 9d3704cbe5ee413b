//! One read model: for every function and every chain, invocations, cold
//! starts and cost agree exactly across `/api/v1/functions`, the summed
//! `/api/v1/functions/{f}/timeseries`, `/api/v1/coldstarts` and
//! `/api/v1/chains/{trace_id}`, right after ingest (as soon as the rows are
//! visible, before any merge), after every table is merged, and with the
//! first-starts materialized view detached (its part not yet written). The
//! scenario: cold and warm invocations (derived from instances and from
//! `faas.coldstart`), REPORT lines, two chains of three functions linked
//! by span links, traces outside any chain, and two metrics-only functions
//! (one without a duration histogram, whose cost is unknown).

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use tracehouse_tests::{now_unix_nanos, TestApp};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;

/// One invocation sent: an entry span in its own trace.
struct Sent {
    function: &'static str,
    instance: &'static str,
    trace: String,
    span: String,
    start: u64,
    duration_ms: u64,
    coldstart_attribute: Option<bool>,
    /// The span it links to (the previous step of a chain).
    link: Option<(String, String)>,
    expect_cold: bool,
}

fn resource(function: &str, instance: &str) -> Value {
    let (provider, memory, arch) = match function {
        "api" => ("aws", 512, "x86_64"),
        "worker" => ("aws", 256, "arm64"),
        _ => ("gcp", 256, "x86_64"),
    };
    json!({"attributes": [
        {"key": "service.name", "value": {"stringValue": function}},
        {"key": "cloud.provider", "value": {"stringValue": provider}},
        {"key": "faas.name", "value": {"stringValue": function}},
        {"key": "faas.instance", "value": {"stringValue": instance}},
        {"key": "faas.max_memory", "value": {"intValue": memory}},
        {"key": "host.arch", "value": {"stringValue": arch}}
    ]})
}

fn span_json(sent: &Sent) -> Value {
    let mut attributes = vec![
        json!({"key": "faas.trigger", "value": {"stringValue": "pubsub"}}),
        json!({"key": "faas.invocation_id", "value": {"stringValue": request_id(sent)}}),
    ];
    if let Some(cold) = sent.coldstart_attribute {
        attributes.push(json!({"key": "faas.coldstart", "value": {"boolValue": cold}}));
    }
    let links: Vec<Value> = sent
        .link
        .iter()
        .map(|(trace, span)| json!({"traceId": trace, "spanId": span}))
        .collect();
    json!({
        "traceId": sent.trace, "spanId": sent.span, "name": format!("{} handler", sent.function),
        "kind": 2, "startTimeUnixNano": sent.start.to_string(),
        "endTimeUnixNano": (sent.start + sent.duration_ms * MS).to_string(),
        "attributes": attributes, "links": links
    })
}

fn request_id(sent: &Sent) -> String {
    format!("req-{}", sent.span)
}

/// Invocation `number` of `function` on `instance` at `offset_s` after `base`.
fn invocation(
    base: u64,
    number: u64,
    (function, instance): (&'static str, &'static str),
    offset_s: u64,
    duration_ms: u64,
) -> Sent {
    Sent {
        function,
        instance,
        trace: format!("{:032x}", 0xc0_0000 + number),
        span: format!("{:016x}", 0x50_0000 + number),
        start: base + offset_s * SECOND + number * MS,
        duration_ms,
        coldstart_attribute: None,
        link: None,
        expect_cold: false,
    }
}

/// Two chains api → worker → notify, and warm api and worker invocations
/// outside any chain. Cold: each instance's first invocation, except
/// where `faas.coldstart` says otherwise.
fn plan(base: u64) -> Vec<Sent> {
    let steps = [
        (("api", "api-1"), 0, 120),
        (("worker", "worker-1"), 5, 1501),
        (("notify", "notify-1"), 10, 230),
        (("api", "api-1"), 130, 80),
        (("worker", "worker-2"), 135, 99),
        (("notify", "notify-1"), 140, 260),
    ];
    let mut sent: Vec<Sent> = Vec::new();
    for (number, (who, offset, duration)) in steps.into_iter().enumerate() {
        let mut step = invocation(base, number as u64, who, offset, duration);
        if number % 3 != 0 {
            let previous = &sent[number - 1];
            step.link = Some((previous.trace.clone(), previous.span.clone()));
        }
        sent.push(step);
    }
    // notify-1 says it was cold the second time too (a recycled sandbox).
    sent[5].coldstart_attribute = Some(true);
    for (number, who, offset, duration) in [
        (10, ("api", "api-1"), 60, 33),
        (11, ("api", "api-1"), 250, 47),
        (12, ("worker", "worker-1"), 200, 12),
        (13, ("api", "api-2"), 300, 64),
    ] {
        sent.push(invocation(base, number, who, offset, duration));
    }
    let firsts = ["api-1", "worker-1", "notify-1", "worker-2", "api-2"];
    for instance in firsts {
        if let Some(first) = sent
            .iter_mut()
            .filter(|sent| sent.instance == instance)
            .min_by_key(|sent| sent.start)
        {
            first.expect_cold = true;
        }
    }
    sent[5].expect_cold = true;
    sent
}

/// A chain of three api invocations on an instance not seen before
/// (`api-9`): the first is its cold start.
fn unseen_instance_chain(base: u64) -> Vec<Sent> {
    let mut chain: Vec<Sent> = Vec::new();
    for number in 20..23 {
        let mut step = invocation(base, number, ("api", "api-9"), 400 + number, 40);
        if let Some(previous) = chain.last() {
            step.link = Some((previous.trace.clone(), previous.span.clone()));
        }
        step.expect_cold = chain.is_empty();
        chain.push(step);
    }
    chain
}

async fn post(app: &TestApp, path: &str, body: &Value) -> anyhow::Result<()> {
    let url = format!("{}{path}", app.otlp_http_url());
    let response = app.http.post(url).json(body).send().await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(())
}

async fn send_spans(app: &TestApp, sent: &[&Sent]) -> anyhow::Result<()> {
    let resource_spans: Vec<Value> = sent
        .iter()
        .map(|sent| {
            json!({"resource": resource(sent.function, sent.instance),
                   "scopeSpans": [{"spans": [span_json(sent)]}]})
        })
        .collect();
    post(app, "/v1/traces", &json!({"resourceSpans": resource_spans})).await
}

/// REPORT lines for the api invocations (billed duration and init from Lambda).
async fn send_reports(app: &TestApp, sent: &[Sent]) -> anyhow::Result<usize> {
    let records: Vec<Value> = sent
        .iter()
        .filter(|sent| sent.function == "api")
        .map(|sent| {
            let init = if sent.expect_cold { "\tInit Duration: 412.5 ms" } else { "" };
            let line = format!(
                "REPORT RequestId: {}\tDuration: {}.00 ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB{init}\t",
                request_id(sent),
                sent.duration_ms,
                sent.duration_ms + if sent.expect_cold { 413 } else { 0 },
            );
            json!({"timeUnixNano": (sent.start + sent.duration_ms * MS).to_string(),
                   "body": {"stringValue": line}})
        })
        .collect();
    let count = records.len();
    let body = json!({"resourceLogs": [{"resource": resource("api", "api-1"),
                                        "scopeLogs": [{"logRecords": records}]}]});
    post(app, "/v1/logs", &body).await?;
    Ok(count)
}

/// The REPORT lines and FaaS metrics of the scenario, once visible.
async fn send_reports_and_metrics(app: &TestApp, sent: &[Sent], base: u64) -> anyhow::Result<()> {
    let reports = send_reports(app, sent).await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM platform_reports",
        reports as u64,
    )
    .await?;
    send_metrics(app, base).await?;
    app.wait_for_rows("SELECT count() AS count FROM metric_points", 5)
        .await
}

fn delta_sum(name: &str, time: u64, value: i64) -> Value {
    json!({"name": name, "unit": "1", "sum": {
        "aggregationTemporality": 1, "isMonotonic": true,
        "dataPoints": [{"startTimeUnixNano": (time - 60 * SECOND).to_string(),
                        "timeUnixNano": time.to_string(), "asInt": value.to_string()}]}})
}

/// `cron` sends counts and a duration histogram; `counter` only counts.
async fn send_metrics(app: &TestApp, base: u64) -> anyhow::Result<()> {
    let at = base + 90 * SECOND;
    let cron = json!({"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "cron"}},
            {"key": "cloud.platform", "value": {"stringValue": "aws_lambda"}},
            {"key": "faas.max_memory", "value": {"intValue": 1024}},
            {"key": "host.arch", "value": {"stringValue": "x86_64"}}]},
        "scopeMetrics": [{"metrics": [
            delta_sum("faas.invocations", at, 10),
            delta_sum("faas.coldstarts", at, 2),
            {"name": "faas.invoke_duration", "unit": "ms", "histogram": {
                "aggregationTemporality": 1, "dataPoints": [{
                    "startTimeUnixNano": (at - 60 * SECOND).to_string(), "timeUnixNano": at.to_string(),
                    "count": "10", "sum": 1500.0, "bucketCounts": ["0", "4", "6", "0"],
                    "explicitBounds": [50.0, 100.0, 200.0]}]}}]}]});
    let counter = json!({"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "counter"}},
            {"key": "cloud.provider", "value": {"stringValue": "aws"}}]},
        "scopeMetrics": [{"metrics": [
            delta_sum("faas.invocations", at + 60 * SECOND, 5),
            delta_sum("faas.coldstarts", at + 60 * SECOND, 1)]}]});
    post(
        app,
        "/v1/metrics",
        &json!({"resourceMetrics": [cron, counter]}),
    )
    .await
}

/// Invocations, cold starts and cost (null with its reason) as one view says.
#[derive(Debug, Clone, PartialEq)]
struct Numbers {
    invocations: u64,
    cold_starts: u64,
    cost: Result<f64, String>,
}

impl Numbers {
    /// Equal counts, and costs equal up to the order of floating-point sums.
    fn agrees(&self, other: &Numbers) -> bool {
        let costs = match (&self.cost, &other.cost) {
            (Ok(a), Ok(b)) => (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-9),
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        self.invocations == other.invocations && self.cold_starts == other.cold_starts && costs
    }
}

fn cost_of(view: &Value) -> Result<f64, String> {
    view["cost_usd"].as_f64().ok_or_else(|| {
        view["cost_unknown_reason"]
            .as_str()
            .unwrap_or("no reason")
            .to_owned()
    })
}

fn u64_of(value: &Value) -> u64 {
    value.as_u64().unwrap_or(u64::MAX)
}

/// Every function's numbers from the list, the summed time series and the cold starts.
async fn function_views(
    app: &TestApp,
    window: &str,
) -> anyhow::Result<BTreeMap<String, [Numbers; 3]>> {
    let (status, list) = app.get_json(&format!("/api/v1/functions?{window}")).await?;
    anyhow::ensure!(status == 200, "{list}");
    let mut views = BTreeMap::new();
    for function in list["functions"].as_array().into_iter().flatten() {
        let name = function["function"].as_str().unwrap_or_default().to_owned();
        let listed = Numbers {
            invocations: u64_of(&function["invocations"]),
            cold_starts: u64_of(&function["cold_starts"]),
            cost: cost_of(function),
        };
        let path = format!("/api/v1/functions/{name}/timeseries?{window}&step=1m");
        let (status, series) = app.get_json(&path).await?;
        anyhow::ensure!(status == 200, "{series}");
        let buckets = series["buckets"].as_array().cloned().unwrap_or_default();
        let summed = Numbers {
            invocations: buckets.iter().map(|b| u64_of(&b["invocations"])).sum(),
            cold_starts: buckets.iter().map(|b| u64_of(&b["cold_starts"])).sum(),
            cost: match series["cost_unknown_reason"].as_str() {
                Some(reason) => Err(reason.to_owned()),
                None => Ok(buckets.iter().filter_map(|b| b["cost_usd"].as_f64()).sum()),
            },
        };
        let path = format!("/api/v1/coldstarts?function={name}&{window}");
        let (status, cold) = app.get_json(&path).await?;
        anyhow::ensure!(status == 200, "{cold}");
        let histogram = cold["histogram"].as_array().cloned().unwrap_or_default();
        let listed_cold = cold["cold_starts"].as_array().map_or(0, Vec::len) as u64;
        if cold["source"] == "spans" {
            assert_eq!(cold["truncated"], false);
            assert_eq!(
                listed_cold,
                u64_of(&cold["count"]),
                "{name}: listed cold starts"
            );
            let in_histogram: u64 = histogram
                .iter()
                .map(|b| u64_of(&b["cold"]) + u64_of(&b["warm"]))
                .sum();
            assert_eq!(
                in_histogram, listed.invocations,
                "{name}: histogram invocations"
            );
        }
        let cold_view = Numbers {
            cold_starts: u64_of(&cold["count"]),
            ..listed.clone()
        };
        views.insert(name, [listed, summed, cold_view]);
    }
    Ok(views)
}

/// The distinct chains of every trace sent, by their sorted trace ids.
async fn chain_views(
    app: &TestApp,
    sent: &[Sent],
) -> anyhow::Result<BTreeMap<Vec<String>, Numbers>> {
    let mut chains = BTreeMap::new();
    for trace in sent.iter().map(|sent| &sent.trace) {
        let (status, chain) = app.get_json(&format!("/api/v1/chains/{trace}")).await?;
        anyhow::ensure!(status == 200, "{chain}");
        let mut traces: Vec<String> = chain["trace_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        traces.sort();
        let numbers = Numbers {
            invocations: u64_of(&chain["invocation_count"]),
            cold_starts: u64_of(&chain["cold_starts"]),
            cost: cost_of(&chain),
        };
        if let Some(earlier) = chains.insert(traces, numbers.clone()) {
            assert!(
                earlier.agrees(&numbers),
                "one chain read from two of its traces"
            );
        }
    }
    Ok(chains)
}

/// Every view against the others and against what was sent.
async fn check_views(app: &TestApp, window: &str, sent: &[Sent]) -> anyhow::Result<Vec<Numbers>> {
    let functions = function_views(app, window).await?;
    let mut snapshot = Vec::new();
    for (name, [listed, summed, cold]) in &functions {
        assert!(
            listed.agrees(summed),
            "{name}: list {listed:?}, time series {summed:?}"
        );
        assert!(
            listed.agrees(cold),
            "{name}: list {listed:?}, cold starts {cold:?}"
        );
        let mine: Vec<&Sent> = sent
            .iter()
            .filter(|s| s.function == name.as_str())
            .collect();
        if !mine.is_empty() {
            assert_eq!(listed.invocations, mine.len() as u64, "{name}");
            let cold_sent = mine.iter().filter(|s| s.expect_cold).count() as u64;
            assert_eq!(listed.cold_starts, cold_sent, "{name}: cold starts sent");
            assert!(listed.cost.is_ok(), "{name}: {:?}", listed.cost);
        }
        snapshot.push(listed.clone());
    }
    let names: BTreeSet<&str> = functions.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = ["api", "counter", "cron", "notify", "worker"].into();
    assert_eq!(names, expected);
    let counter = &functions["counter"][0];
    assert!(counter
        .cost
        .as_ref()
        .is_err_and(|why| why.contains("faas.invoke_duration")));
    assert_eq!((counter.invocations, counter.cold_starts), (5, 1));
    assert_eq!(
        (
            functions["cron"][0].invocations,
            functions["cron"][0].cold_starts
        ),
        (10, 2)
    );

    // Chains: each sent trace is in exactly one chain; together they hold
    // every invocation from spans, as the function views count them.
    let chains = chain_views(app, sent).await?;
    let heads = sent
        .iter()
        .filter(|head| {
            let linked_to =
                |other: &&Sent| other.link.as_ref().map(|(t, _)| t) == Some(&head.trace);
            head.link.is_none() && sent.iter().any(|other| linked_to(&other))
        })
        .count();
    let three_step = chains.keys().filter(|traces| traces.len() == 3).count();
    assert_eq!(
        three_step, heads,
        "every chain of three functions: {chains:?}"
    );
    for (traces, numbers) in &chains {
        let inside: Vec<&Sent> = sent.iter().filter(|s| traces.contains(&s.trace)).collect();
        assert_eq!(numbers.invocations, inside.len() as u64, "{traces:?}");
        let cold = inside.iter().filter(|s| s.expect_cold).count() as u64;
        assert_eq!(numbers.cold_starts, cold, "chain {traces:?}");
    }
    let span_functions: Vec<&Numbers> = ["api", "notify", "worker"]
        .iter()
        .map(|name| &functions[*name][0])
        .collect();
    let over_functions = Numbers {
        invocations: span_functions.iter().map(|n| n.invocations).sum(),
        cold_starts: span_functions.iter().map(|n| n.cold_starts).sum(),
        cost: Ok(span_functions
            .iter()
            .filter_map(|n| n.cost.as_ref().ok())
            .sum()),
    };
    let over_chains = Numbers {
        invocations: chains.values().map(|n| n.invocations).sum(),
        cold_starts: chains.values().map(|n| n.cold_starts).sum(),
        cost: Ok(chains.values().filter_map(|n| n.cost.as_ref().ok()).sum()),
    };
    assert!(
        over_functions.agrees(&over_chains),
        "functions {over_functions:?}, chains {over_chains:?}"
    );
    snapshot.extend(chains.into_values());
    Ok(snapshot)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_view_counts_and_prices_the_same_invocations() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let base = (now_unix_nanos() - 30 * 60 * SECOND) / (60 * SECOND) * (60 * SECOND);
    let window = format!("from={}&to={}", base / MS, base / MS + 10 * 60 * 1000);
    let sent = plan(base);

    // REPORT lines first, so that every view sees them with the spans.
    send_reports_and_metrics(&app, &sent, base).await?;
    // Later invocations before earlier ones: first starts are by time, not arrival.
    let (late, early): (Vec<&Sent>, Vec<&Sent>) =
        sent.iter().partition(|s| s.start > base + 100 * SECOND);
    for batch in [late, early] {
        send_spans(&app, &batch).await?;
    }
    // Right after ingest: as soon as every invocation is visible, no merge.
    app.wait_for_rows(
        "SELECT count() AS count FROM invocations",
        sent.len() as u64,
    )
    .await?;
    let fresh = check_views(&app, &window, &sent).await?;

    for table in [
        "invocations",
        "instance_first_starts",
        "platform_reports",
        "metric_points",
    ] {
        app.clickhouse_client()
            .query(&format!("OPTIMIZE TABLE {table} FINAL"))
            .execute()
            .await?;
    }
    let merged = check_views(&app, &window, &sent).await?;
    assert_eq!(fresh.len(), merged.len());
    for (before, after) in fresh.iter().zip(&merged) {
        assert!(
            before.agrees(after),
            "before merges {before:?}, after {after:?}"
        );
    }

    // Before the materialized view writes its part: with the view detached,
    // a new instance has no stored first start, and every view takes the
    // first of its invocations in the scope read.
    let client = app.clickhouse_client();
    client
        .query("DETACH TABLE instance_first_starts_mv")
        .execute()
        .await?;
    let mut sent = sent;
    let unseen = unseen_instance_chain(base);
    send_spans(&app, &unseen.iter().collect::<Vec<_>>()).await?;
    sent.extend(unseen);
    let invocations = "SELECT count() AS count FROM invocations";
    app.wait_for_rows(invocations, sent.len() as u64).await?;
    let stored = "SELECT count() AS count FROM instance_first_starts WHERE instance = 'api-9'";
    assert_eq!(app.count_rows(stored).await?, 0, "the view wrote nothing");
    check_views(&app, &window, &sent).await?;
    client
        .query("ATTACH TABLE instance_first_starts_mv")
        .execute()
        .await?;
    app.stop().await
}

/// The newest mark of the settler: invocations starting before it are read
/// from settled invocations.
async fn settled_until(app: &TestApp) -> anyhow::Result<u64> {
    let until: u64 = app
        .clickhouse_client()
        .query("SELECT max(settled_until_unix_nano) FROM invocation_settle_marks")
        .fetch_one()
        .await?;
    Ok(until)
}

/// Waits up to a minute for the settler's mark to reach `until`.
async fn wait_until_settled(app: &TestApp, until: u64, what: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while settled_until(app).await? < until {
        anyhow::ensure!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A settler that passes often and settles minutes a minute old, once they
/// have been quiet for `quiet`.
fn quick_settler(quiet: std::time::Duration) -> tracehouse::Timings {
    tracehouse::Timings {
        settle: tracehouse_query::SettleOptions {
            interval: std::time::Duration::from_millis(300),
            delay: std::time::Duration::from_secs(60),
            chunk: std::time::Duration::from_secs(300),
            quiet,
        },
        ..tracehouse::Timings::default()
    }
}

/// One burst of data for a new project, then silence: the settler settles
/// it once it has been quiet, also when the quiet time is longer than the
/// settler looks back for arrivals (the project has no mark yet, and no
/// data arrives to name it again).
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_data_is_settled_once_it_is_quiet() -> anyhow::Result<()> {
    let margin = u64::from(tracehouse_query::serverless::ARRIVAL_MARGIN_SECONDS);
    let quiet = std::time::Duration::from_secs(margin + 2);
    let app = TestApp::start_with_timings(|_| {}, quick_settler(quiet)).await?;
    let base = (now_unix_nanos() - 30 * 60 * SECOND) / (60 * SECOND) * (60 * SECOND);
    let window = format!("from={}&to={}", base / MS, base / MS + 10 * 60 * 1000);
    let sent = plan(base);
    send_reports_and_metrics(&app, &sent, base).await?;
    send_spans(&app, &sent.iter().collect::<Vec<_>>()).await?;
    app.wait_for_rows(
        "SELECT count() AS count FROM invocations",
        sent.len() as u64,
    )
    .await?;
    let window_end = base + 10 * 60 * SECOND;
    wait_until_settled(&app, window_end, "the burst was never settled").await?;
    check_views(&app, &window, &sent).await?;
    app.stop().await
}

/// Settled reads: once the settler has stored the window, every view gives
/// the same exact numbers as live; data arriving late for settled minutes
/// (a new chain, a client's retry of spans already stored) is counted in the
/// very next read, once and only once, and again after the settler stores
/// those minutes anew.
#[tokio::test(flavor = "multi_thread")]
async fn settled_reads_agree_with_live_ones_and_never_miss_late_data() -> anyhow::Result<()> {
    let timings = quick_settler(std::time::Duration::from_secs(1));
    let app = TestApp::start_with_timings(|_| {}, timings).await?;
    let base = (now_unix_nanos() - 30 * 60 * SECOND) / (60 * SECOND) * (60 * SECOND);
    let window = format!("from={}&to={}", base / MS, base / MS + 10 * 60 * 1000);
    let sent = plan(base);
    send_reports_and_metrics(&app, &sent, base).await?;
    send_spans(&app, &sent.iter().collect::<Vec<_>>()).await?;
    let invocations = "SELECT count() AS count FROM invocations";
    app.wait_for_rows(invocations, sent.len() as u64).await?;

    // Settled past the window: the views read stored facts, and agree.
    let window_end = base + 10 * 60 * SECOND;
    wait_until_settled(&app, window_end, "the settler did not settle the window").await?;
    let facts = "SELECT count() AS count FROM invocation_facts";
    assert!(app.count_rows(facts).await? >= sent.len() as u64);
    check_views(&app, &window, &sent).await?;

    // Late: a chain on a new instance, and a retry of spans already stored.
    let mut sent = sent;
    let unseen = unseen_instance_chain(base);
    let retried: Vec<&Sent> = sent.iter().take(4).collect();
    send_spans(&app, &retried).await?;
    send_spans(&app, &unseen.iter().collect::<Vec<_>>()).await?;
    let stored = (sent.len() + 4 + unseen.len()) as u64;
    sent.extend(unseen);
    app.wait_for_rows(invocations, stored).await?;
    check_views(&app, &window, &sent).await?;

    // Settled anew, under a newer generation: the same numbers.
    let resettled = "SELECT count() AS count FROM invocation_facts WHERE instance = 'api-9'";
    app.wait_for_rows(resettled, 3).await?;
    wait_until_settled(&app, window_end, "the settler did not settle again").await?;
    check_views(&app, &window, &sent).await?;
    app.stop().await
}
