//! Scale-out mode on a real cluster: ZooKeeper and two ClickHouse 18.16
//! servers as two shards on loopback (see `support/cluster.rs`).

#[path = "support/cluster.rs"]
mod cluster_support;

use cluster_support::{LoopbackCluster, CLUSTER};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;
use std::time::Duration;
use tracehouse::Role;
use tracehouse_schema::{ClickHouseSettings, Cluster, Layout};
use tracehouse_tests::TestApp;

fn settings(cluster: &LoopbackCluster, node: usize, database: &str) -> ClickHouseSettings {
    ClickHouseSettings {
        url: cluster.url(node),
        user: "default".to_owned(),
        password: String::new(),
        database: database.to_owned(),
    }
}

/// Two processes migrate at once, each from another node: both succeed,
/// and every node has every table, local and distributed.
#[tokio::test]
async fn migrations_apply_on_the_cluster_from_two_nodes_at_once() -> anyhow::Result<()> {
    let cluster = LoopbackCluster::start(2).await?;
    let database = "th_migrate";
    let layout = Layout::Cluster(Cluster::new(CLUSTER, database)?);
    let migrate = |node: usize| {
        let settings = settings(&cluster, node, database);
        let layout = layout.clone();
        async move {
            settings.ensure_database_in(&layout).await?;
            let client = settings.client_in(&layout)?;
            tracehouse_schema::apply_migrations_in(&client, &layout).await
        }
    };
    let (first, second) = tokio::join!(migrate(0), migrate(1));
    let expected = tracehouse_schema::MIGRATIONS.last().map(|m| m.version);
    assert_eq!(Some(first?), expected);
    assert_eq!(Some(second?), expected);
    for node in 0..2 {
        let tables = cluster
            .query(
                node,
                &format!("SELECT name, engine FROM system.tables WHERE database = '{database}' ORDER BY name"),
            )
            .await?;
        println!("node {node}:\n{tables}");
        assert!(tables.contains("spans\tDistributed"), "{tables}");
        assert!(
            tables.contains("spans_local\tReplicatedMergeTree"),
            "{tables}"
        );
        assert!(
            tables.contains("instance_first_starts_local\tReplicatedAggregatingMergeTree"),
            "{tables}"
        );
        assert!(
            tables.contains("schema_migrations\tReplicatedMergeTree"),
            "{tables}"
        );
        let columns = cluster
            .query(node, &format!("SELECT count() FROM system.columns WHERE database = '{database}' AND table IN ('platform_reports', 'platform_reports_local') AND name = 'failed'"))
            .await?;
        assert_eq!(columns.trim(), "2", "node {node}");
    }
    for probe in [
        "SELECT count() FROM system.settings WHERE name = 'optimize_skip_unused_shards'",
        "SELECT count() FROM cluster('tracehouse', system.one)",
        "SELECT count() FROM cluster(tracehouse, system.one)",
        "SELECT version()",
        "SELECT groupArray(name) FROM system.settings WHERE name LIKE '%dedup%' OR name LIKE '%view%'",
    ] {
        println!(
            "{probe}: {:?}",
            cluster.query(0, probe).await.map(|t| t.trim().to_owned())
        );
    }
    Ok(())
}

/// The simulator's application for `minutes` minutes ending at `end`, as
/// OTLP requests of 20 s steps.
fn workload(seed: u64, end: u64, minutes: u64) -> Vec<Requests> {
    let step = 20 * SECOND;
    let from = end - minutes * 60 * SECOND;
    let mut app = tracehouse_simulator::App::new(seed, from + (end - from) / 2);
    (0..minutes * 3)
        .map(|index| {
            let at = from + index * step;
            app.step(at, at + step, 0.6).into_requests()
        })
        .collect()
}

type Requests = (
    Option<ExportTraceServiceRequest>,
    Option<ExportLogsServiceRequest>,
    Option<ExportMetricsServiceRequest>,
);

const SECOND: u64 = 1_000_000_000;

/// Splits a trace request: resources with a consumer span (the consumers
/// of every queue) in the second, the others (their producers) in the first.
fn split_consumers(
    request: &ExportTraceServiceRequest,
) -> (ExportTraceServiceRequest, ExportTraceServiceRequest) {
    let consumer = opentelemetry_proto::tonic::trace::v1::span::SpanKind::Consumer as i32;
    let (consumers, others) = request
        .resource_spans
        .iter()
        .cloned()
        .partition(|resource| {
            resource
                .scope_spans
                .iter()
                .flat_map(|scope| &scope.spans)
                .any(|span| span.kind == consumer)
        });
    (
        ExportTraceServiceRequest {
            resource_spans: others,
        },
        ExportTraceServiceRequest {
            resource_spans: consumers,
        },
    )
}

/// OTLP/gRPC clients of one collector; every export retries "unavailable".
#[derive(Clone)]
struct Exporter {
    traces: TraceServiceClient<tonic::transport::Channel>,
    logs: LogsServiceClient<tonic::transport::Channel>,
    metrics: MetricsServiceClient<tonic::transport::Channel>,
}

impl Exporter {
    async fn connect(url: String) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(url)?
            .connect()
            .await?;
        Ok(Self {
            traces: TraceServiceClient::new(channel.clone()),
            logs: LogsServiceClient::new(channel.clone()),
            metrics: MetricsServiceClient::new(channel),
        })
    }

    async fn traces(&self, request: ExportTraceServiceRequest) -> anyhow::Result<()> {
        if request.resource_spans.is_empty() {
            return Ok(());
        }
        retry(|| {
            let (mut client, request) = (self.traces.clone(), request.clone());
            async move { client.export(request).await.map(drop) }
        })
        .await
    }

    async fn logs(&self, request: ExportLogsServiceRequest) -> anyhow::Result<()> {
        retry(|| {
            let (mut client, request) = (self.logs.clone(), request.clone());
            async move { client.export(request).await.map(drop) }
        })
        .await
    }

    async fn metrics(&self, request: ExportMetricsServiceRequest) -> anyhow::Result<()> {
        retry(|| {
            let (mut client, request) = (self.metrics.clone(), request.clone());
            async move { client.export(request).await.map(drop) }
        })
        .await
    }
}

async fn retry<F, Fut>(mut attempt: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    for _ in 0..600 {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(status) if status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => return Err(status.into()),
        }
    }
    anyhow::bail!("still unavailable after 60 s")
}

/// Sends everything to one exporter.
async fn send_all(exporter: &Exporter, requests: &[Requests]) -> anyhow::Result<()> {
    for (traces, logs, metrics) in requests.iter().cloned() {
        if let Some(traces) = traces {
            exporter.traces(traces).await?;
        }
        if let Some(logs) = logs {
            exporter.logs(logs).await?;
        }
        if let Some(metrics) = metrics {
            exporter.metrics(metrics).await?;
        }
    }
    Ok(())
}

/// Producers, logs and metrics through `first`; consumers through `second`.
async fn send_split(
    first: &Exporter,
    second: &Exporter,
    requests: &[Requests],
) -> anyhow::Result<()> {
    for (traces, logs, metrics) in requests.iter().cloned() {
        if let Some(traces) = traces {
            let (producers, consumers) = split_consumers(&traces);
            let (a, b) = tokio::join!(first.traces(producers), second.traces(consumers));
            a?;
            b?;
        }
        if let Some(logs) = logs {
            first.logs(logs).await?;
        }
        if let Some(metrics) = metrics {
            second.metrics(metrics).await?;
        }
    }
    Ok(())
}

/// Rules evaluated over the whole test window, per function, notifying no one.
const ALERT_RULES: &str = "[alerts]\ninterval = \"500ms\"\n\
    [[alerts.rules]]\nname = \"errors\"\nsignal = \"error_rate\"\ngroup_by = \"function\"\n\
    op = \">\"\nthreshold = 0.03\nwindow = \"3h\"\nfor = \"0s\"\nno_data = \"ok\"\n\
    [[alerts.rules]]\nname = \"busy\"\nsignal = \"invocations\"\ngroup_by = \"function\"\n\
    op = \">\"\nthreshold = 100\nwindow = \"3h\"\nfor = \"0s\"\nno_data = \"ok\"\n";

fn alert_rules() -> anyhow::Result<Option<toml::Table>> {
    let file: toml::Table = toml::from_str(ALERT_RULES)?;
    Ok(file.get("alerts").and_then(toml::Value::as_table).cloned())
}

/// Per rule and function, the value and whether it fires, from `GET
/// /api/v1/alerts` once each rule was evaluated over the complete data.
/// (States of earlier evaluations, such as `resolved` after a rule fired
/// on partial data during ingest, depend on each process's timing.)
async fn evaluated_rules(app: &TestApp) -> anyhow::Result<Value> {
    let body = app
        .wait_for_json("/api/v1/alerts", |body| {
            let rules = body["snapshot"]["rules"].as_array();
            rules.is_some_and(|rules| {
                rules.len() == 2 && rules.iter().all(|rule| !rule["last_evaluation"].is_null())
            })
        })
        .await?;
    let rules = body["snapshot"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(rules
        .iter()
        .map(|rule| {
            let groups: Vec<Value> = rule["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|group| {
                    serde_json::json!({
                        "function": group["function"],
                        "value": group["value"],
                        "firing": group["state"] == "firing",
                    })
                })
                .collect();
            serde_json::json!({ "rule": rule["name"], "error": rule["error"], "groups": groups })
        })
        .collect())
}

/// A Tracehouse process on node `node` of the cluster, running `roles`.
async fn cluster_app(
    cluster: &LoopbackCluster,
    node: usize,
    database: &str,
    roles: Vec<Role>,
) -> anyhow::Result<TestApp> {
    let url = cluster.url(node);
    let mut app = TestApp::start_with(|config| {
        config.clickhouse_url = Some(url.clone());
        config.clickhouse_database = database.to_owned();
        config.clickhouse_user = "default".to_owned();
        config.clickhouse_password = String::new().into();
        config.clickhouse_cluster = Some(CLUSTER.to_owned());
        if roles.contains(&Role::Alerts) {
            config.alerts = alert_rules().ok().flatten();
        }
        config.roles = roles;
    })
    .await?;
    app.clickhouse = settings(cluster, node, database);
    Ok(app)
}

const STORED_TABLES: &[&str] = &[
    "spans",
    "span_index",
    "invocations",
    "platform_reports",
    "logs",
    "metric_points",
    "messaging_spans",
    "span_links_by_linked_trace",
];

/// Waits until both hold every span sent and then, table by table, the
/// same number of rows (the Distributed tables forward asynchronously).
async fn wait_for_same_rows(
    single: &TestApp,
    cluster: &TestApp,
    spans: u64,
) -> anyhow::Result<Vec<(String, u64)>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut counts = Vec::new();
    for table in STORED_TABLES {
        let sql = format!("SELECT count() AS count FROM {table}");
        loop {
            let (on_one, on_cluster) = (
                single.count_rows(&sql).await?,
                cluster.count_rows(&sql).await?,
            );
            let complete = *table != "spans" || on_one == spans;
            if complete && on_one == on_cluster {
                counts.push(((*table).to_owned(), on_one));
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let distinct =
                    format!("SELECT count() - uniqExact(trace_id, span_id) AS count FROM {table}");
                anyhow::bail!(
                    "{table}: {on_cluster} rows on the cluster, {on_one} on one server (repeated ids: {} and {})",
                    cluster.count_rows(&distinct).await.unwrap_or(0),
                    single.count_rows(&distinct).await.unwrap_or(0),
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(counts)
}

fn spans_in(requests: &[Requests]) -> u64 {
    requests
        .iter()
        .filter_map(|(traces, _, _)| traces.as_ref())
        .map(tracehouse_simulator::span_count)
        .sum()
}

/// The paths whose answers are compared: every read of the query API and of
/// the Jaeger API over the window, per function, per service and per trace.
async fn paths_to_compare(
    single: &TestApp,
    from_ms: u64,
    to_ms: u64,
) -> anyhow::Result<Vec<String>> {
    let window = format!("from={from_ms}&to={to_ms}");
    let mut paths = vec![
        format!("/api/v1/functions?{window}"),
        format!("/api/v1/services?{window}"),
        format!("/api/v1/map?{window}"),
        format!("/api/v1/chains/broken?{window}"),
        format!("/api/v1/traces?{window}&limit=100"),
        format!("/api/v1/traces?{window}&status=error&limit=50"),
        "/jaeger/api/services".to_owned(),
        format!(
            "/jaeger/api/dependencies?endTs={to_ms}&lookback={}",
            to_ms - from_ms
        ),
    ];
    let (_, functions) = single
        .get_json(&format!("/api/v1/functions?{window}"))
        .await?;
    for function in functions["functions"].as_array().into_iter().flatten() {
        let name = function["function"].as_str().unwrap_or_default();
        paths.push(format!(
            "/api/v1/functions/{name}/timeseries?{window}&step=1m"
        ));
        paths.push(format!("/api/v1/coldstarts?function={name}&{window}"));
    }
    let (_, services) = single.get_json("/jaeger/api/services").await?;
    for service in services["data"].as_array().into_iter().flatten() {
        let service = service.as_str().unwrap_or_default();
        paths.push(format!("/api/v1/services/{service}/operations?{window}"));
        paths.push(format!(
            "/jaeger/api/traces?service={service}&start={}&end={}&limit=20",
            from_ms * 1000,
            to_ms * 1000
        ));
    }
    let (_, traces) = single
        .get_json(&format!("/api/v1/traces?{window}&limit=40"))
        .await?;
    for trace in traces["traces"].as_array().into_iter().flatten().take(40) {
        let id = trace["trace_id"].as_str().unwrap_or_default();
        paths.push(format!("/api/v1/traces/{id}"));
        paths.push(format!("/api/v1/chains/{id}"));
        paths.push(format!("/jaeger/api/traces/{id}"));
    }
    Ok(paths)
}

/// Every answer of the cluster equals the one server's for the same data.
async fn assert_same_answers(
    single: &TestApp,
    cluster: &TestApp,
    paths: &[String],
) -> anyhow::Result<()> {
    let mut differing = Vec::new();
    for path in paths {
        let (single_status, single_body) = single.get_json(path).await?;
        let (cluster_status, cluster_body) = cluster.get_json(path).await?;
        assert_eq!(single_status, 200, "{path}: {single_body}");
        if single_status != cluster_status || !same_json(&single_body, &cluster_body, "") {
            differing.push(format!(
                "{path}:\n  one server {single_status}: {}\n  cluster    {cluster_status}: {}",
                excerpt(&single_body),
                excerpt(&cluster_body)
            ));
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {} answers differ:\n{}",
        differing.len(),
        paths.len(),
        differing.join("\n")
    );
    Ok(())
}

/// Equal JSON, numbers within a relative 1e-9 (sums of partial sums from
/// each shard round differently in the last digits). `waited_ms` counts to
/// the clock of the answer, so it may differ by the time between the two
/// questions (a minute at most).
fn same_json(left: &Value, right: &Value, key: &str) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            let tolerance = if key == "waited_ms" {
                60_000.0
            } else {
                1e-9 * a.abs().max(b.abs()).max(1.0)
            };
            a == b || (a - b).abs() <= tolerance
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b, key))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(name, value)| {
                    b.get(name)
                        .is_some_and(|other| same_json(value, other, name))
                })
        }
        _ => left == right,
    }
}

fn excerpt(body: &Value) -> String {
    let text = body.to_string();
    text.chars().take(600).collect()
}

/// How many function instances have a partial first-start state on each shard.
async fn instances_on_both_shards(
    cluster: &LoopbackCluster,
    database: &str,
) -> anyhow::Result<usize> {
    let sql = format!(
        "SELECT function, instance FROM {database}.instance_first_starts_local GROUP BY function, instance"
    );
    let first: std::collections::BTreeSet<String> = cluster
        .query(0, &sql)
        .await?
        .lines()
        .map(str::to_owned)
        .collect();
    let second = cluster.query(1, &sql).await?;
    Ok(second.lines().filter(|line| first.contains(*line)).count())
}

/// Producers through one collector, consumers through another, each on its
/// own node; a query process on the first node. Every answer equals that
/// of one server given the same requests.
#[tokio::test]
async fn every_answer_equals_the_single_server_answer() -> anyhow::Result<()> {
    let cluster = LoopbackCluster::start(2).await?;
    let database = "th_equal";
    let collector_a = cluster_app(&cluster, 0, database, vec![Role::Collector]).await?;
    let collector_b = cluster_app(&cluster, 1, database, vec![Role::Collector]).await?;
    let query = cluster_app(&cluster, 0, database, vec![Role::Query, Role::Alerts]).await?;
    let rules = alert_rules()?;
    let single = TestApp::start_with(|config| config.alerts = rules).await?;

    let end = (tracehouse_tests::now_unix_nanos() / (60 * SECOND) - 30) * 60 * SECOND;
    let requests = workload(11, end, 20);
    let (to_a, to_b) = (
        Exporter::connect(collector_a.otlp_grpc_url()).await?,
        Exporter::connect(collector_b.otlp_grpc_url()).await?,
    );
    let started = std::time::Instant::now();
    send_split(&to_a, &to_b, &requests).await?;
    println!("sent to the cluster in {:?}", started.elapsed());
    send_all(&Exporter::connect(single.otlp_grpc_url()).await?, &requests).await?;
    let counts = wait_for_same_rows(&single, &query, spans_in(&requests)).await?;
    println!("rows on both: {counts:?}");
    let spread = cluster
        .query(1, &format!("SELECT count() FROM {database}.spans_local"))
        .await?;
    println!("spans on the second shard: {}", spread.trim());
    assert_ne!(spread.trim(), "0");
    let shared = instances_on_both_shards(&cluster, database).await?;
    println!("instances with first-start states on both shards: {shared}");
    assert!(shared > 0, "no instance has invocations on both shards");

    let from_ms = (end - 20 * 60 * SECOND) / 1_000_000;
    let paths = paths_to_compare(&single, from_ms, end / 1_000_000).await?;
    assert!(paths.len() > 50, "{} paths", paths.len());
    let started = std::time::Instant::now();
    assert_same_answers(&single, &query, &paths).await?;
    println!(
        "{} answers equal, compared in {:?}",
        paths.len(),
        started.elapsed()
    );
    // Alert rules evaluated by the one alerts process of each side.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (on_one, on_cluster) = (
        evaluated_rules(&single).await?,
        evaluated_rules(&query).await?,
    );
    println!("alert rules: {on_one}");
    assert!(
        on_one.to_string().contains("firing"),
        "a rule fires: {on_one}"
    );
    assert!(
        same_json(&on_one, &on_cluster, ""),
        "alerts differ:\n{on_one}\n{on_cluster}"
    );
    Ok(())
}

/// GET `path` on `app`: status and the partial-answer header.
async fn partial_header(app: &TestApp, path: &str) -> anyhow::Result<(u16, Option<String>)> {
    let response = app
        .http
        .get(format!("{}{path}", app.http_url()))
        .send()
        .await?;
    let header = response
        .headers()
        .get(tracehouse::cluster::PARTIAL_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok((response.status().as_u16(), header))
}

/// Polls `path` until its partial-answer header is `wanted` (20 s at most).
async fn wait_for_partial(app: &TestApp, path: &str, wanted: Option<&str>) -> anyhow::Result<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, header) = partial_header(app, path).await?;
        if header.as_deref() == wanted {
            return Ok(status);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{path}: header {header:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The second shard is SIGKILLed while both collectors ingest, and started
/// again. While it is down, answers come from the first shard and say they
/// are partial; afterwards every acknowledged span is readable once.
#[tokio::test]
async fn a_shard_killed_during_ingest_loses_and_repeats_nothing() -> anyhow::Result<()> {
    let mut cluster = LoopbackCluster::start(2).await?;
    let database = "th_faults";
    let collector_a = cluster_app(&cluster, 0, database, vec![Role::Collector]).await?;
    let collector_b = cluster_app(&cluster, 1, database, vec![Role::Collector]).await?;
    let query = cluster_app(&cluster, 0, database, vec![Role::Query, Role::Alerts]).await?;
    let end = (tracehouse_tests::now_unix_nanos() / (60 * SECOND) - 30) * 60 * SECOND;
    let requests = workload(23, end, 20);
    let sent = spans_in(&requests);
    let (to_a, to_b) = (
        Exporter::connect(collector_a.otlp_grpc_url()).await?,
        Exporter::connect(collector_b.otlp_grpc_url()).await?,
    );
    // Slowly, so that the kill lands in the middle of it.
    let sender = tokio::spawn(async move {
        for chunk in requests.chunks(4) {
            send_split(&to_a, &to_b, chunk).await?;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        anyhow::Ok(())
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill(1);
    println!("second shard killed");
    let search = format!(
        "/api/v1/traces?from={}&to={}&limit=20",
        (end - 1200 * SECOND) / 1_000_000,
        end / 1_000_000
    );
    let status = wait_for_partial(&query, &search, Some("1 of 2 shards unreachable")).await?;
    assert_eq!(
        status, 200,
        "a read while a shard is down answers from the others"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = std::time::Instant::now();
    cluster.restart(1).await?;
    println!("second shard back after {:?}", started.elapsed());
    sender.await??;
    println!("every export acknowledged: {sent} spans");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let stored = query
            .count_rows("SELECT count() AS count FROM spans")
            .await?;
        if stored >= sent || tokio::time::Instant::now() > deadline {
            println!("spans stored: {stored} of {sent}");
            break;
        }
        for node in 0..2 {
            let requeued = cluster.requeue_broken(node)?;
            if requeued > 0 {
                println!("node {node}: {requeued} files set aside as broken put back in the queue");
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for_partial(&query, &search, None).await?;
    for node in 0..2 {
        let counts = cluster
            .query(node, &format!("SELECT (SELECT count() FROM {database}.spans_local), (SELECT count() FROM {database}.span_index_local)"))
            .await?;
        println!(
            "node {node}: spans_local, span_index_local: {}",
            counts.trim()
        );
    }
    for node in 0..2 {
        println!("node {node} still queued: {:?}", cluster.queued_files(node));
        for text in ["etached", "nexpected", "<Error>"] {
            for line in cluster
                .log_lines(node, text)
                .lines()
                .filter(|l| !l.contains("appears to be already active"))
                .take(5)
            {
                println!(
                    "node {node}: {}",
                    line.chars().take(400).collect::<String>()
                );
            }
        }
    }
    let ignored = cluster
        .log_lines(1, "already exists; ignoring it")
        .lines()
        .count();
    println!("retried blocks the second shard recognised and ignored: {ignored}");
    let spans = query
        .count_rows("SELECT count() AS count FROM spans")
        .await?;
    let distinct = query
        .count_rows("SELECT uniqExact(trace_id, span_id) AS count FROM spans")
        .await?;
    assert_eq!(
        (spans, distinct),
        (sent, sent),
        "every acknowledged span, once"
    );
    // Tables filled by views: never a row twice. A block whose view insert
    // the kill interrupted is ignored as a duplicate when retried, and 18.16
    // then skips its views (newer servers run them with
    // deduplicate_blocks_in_dependent_materialized_views): those rows are
    // missing there; the figure is printed, see docs/architecture.md.
    for table in ["invocations", "messaging_spans"] {
        let total = query
            .count_rows(&format!("SELECT count() AS count FROM {table}"))
            .await?;
        let distinct = query
            .count_rows(&format!(
                "SELECT uniqExact(trace_id, span_id) AS count FROM {table}"
            ))
            .await?;
        println!("{table}: {total} rows, {distinct} distinct spans");
        assert_eq!(total, distinct, "{table}: a span stored twice");
    }
    // span_index has one row per span and no span id: its count shows both.
    let indexed = query
        .count_rows("SELECT count() AS count FROM span_index")
        .await?;
    println!(
        "span_index rows missing after the kill: {}",
        sent - indexed.min(sent)
    );
    assert!(indexed <= sent, "span_index: a span indexed twice");
    Ok(())
}

/// Invocations of instance `instance` `days_ago` days back, one per trace
/// id in `traces` (so they land on both shards), inserted on node 0.
async fn insert_invocations(
    cluster: &LoopbackCluster,
    database: &str,
    instance: &str,
    days_ago: u64,
    traces: std::ops::Range<u32>,
) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO {database}.invocations (project, timestamp, start_time_unix_nano, duration_ns, \
         function, service, instance, trace_id, span_id) \
         SELECT 'default', toDateTime(start), toUInt64(start) * 1000000000 + number, 5000000, \
         'worker', 'worker', '{instance}', toFixedString(reinterpretAsString(number + 1), 16), \
         toFixedString(reinterpretAsString(number + 1), 8) \
         FROM (SELECT toUInt32(now()) - {days_ago} * 86400 AS start, number \
               FROM system.numbers WHERE number >= {} LIMIT {}) \
         SETTINGS insert_distributed_sync = 1",
        traces.start,
        traces.len()
    );
    cluster.query(0, &sql).await.map(drop)
}

/// Retention on the cluster: the old day partitions of every shard are
/// dropped ON CLUSTER, and each shard forgets the first starts of instances
/// none of whose invocations there is kept.
#[tokio::test]
async fn retention_drops_partitions_on_every_shard() -> anyhow::Result<()> {
    let cluster = LoopbackCluster::start(2).await?;
    let database = "th_retention";
    let layout = Layout::Cluster(Cluster::new(CLUSTER, database)?);
    let node0 = settings(&cluster, 0, database);
    node0.ensure_database_in(&layout).await?;
    let client = node0.client_in(&layout)?;
    tracehouse_schema::apply_migrations_in(&client, &layout).await?;
    insert_invocations(&cluster, database, "old", 10, 0..40).await?;
    insert_invocations(&cluster, database, "kept", 0, 100..140).await?;
    let per_node = |table: &str| format!("SELECT count() FROM {database}.{table}");
    // An INSERT ... SELECT into a Distributed table may still be queued on
    // 18.16 even with insert_distributed_sync: wait until both shards hold rows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for node in 0..2 {
        loop {
            let held = cluster.query(node, &per_node("invocations_local")).await?;
            if held.trim() != "0" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {node} holds no invocations"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let dropped =
        tracehouse_schema::retention::drop_expired_partitions_in(&client, &layout, 7).await?;
    println!("dropped: {dropped:?}");
    assert_eq!(dropped.len(), 1, "one old day of invocations");
    assert_eq!(dropped[0].table, "invocations");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut remaining = Vec::new();
        for node in 0..2 {
            let sql = format!(
                "SELECT (SELECT count() FROM {database}.invocations_local), \
                 (SELECT countIf(instance = 'kept') FROM {database}.instance_first_starts_local), \
                 (SELECT countIf(instance = 'old') FROM {database}.instance_first_starts_local)"
            );
            remaining.push(cluster.query(node, &sql).await?.trim().to_owned());
        }
        let kept_per_node: Vec<u64> = remaining
            .iter()
            .map(|row| {
                row.split('\t')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        let forgotten = remaining.iter().all(|row| row.ends_with("\t0"));
        if kept_per_node.iter().sum::<u64>() == 40 && forgotten {
            println!(
                "after retention, per node (invocations, kept and old first starts): {remaining:?}"
            );
            assert!(
                remaining.iter().all(|row| !row.contains("\t0\t")),
                "kept instances stay: {remaining:?}"
            );
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "after retention: {remaining:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
