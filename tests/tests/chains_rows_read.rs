//! Chain steps and trace reads must not scan the spans table: with a few
//! hundred thousand spans stored, each lookup reads a few granules. Rows
//! read are ClickHouse's own statistics (`FORMAT JSON` → `statistics.rows_read`).

use serde_json::Value;
use tracehouse_model::ProjectId;
use tracehouse_query::serverless::InvocationScope;
use tracehouse_query::sql::{self, Params};
use tracehouse_query::TimeWindow;
use tracehouse_schema::rows::SpanRow;
use tracehouse_schema::serverless_rows::InvocationRow;
use tracehouse_tests::TestApp;

const TRACES: u64 = 30_000;
const SPANS_PER_TRACE: u64 = 10;

fn trace_id(trace: u64) -> [u8; 16] {
    // Spread ids over the key space as random ids are.
    let mixed = trace.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555_aaaa_5555_aaaa;
    let mut id = [0; 16];
    id[..8].copy_from_slice(&mixed.to_be_bytes());
    id[8..].copy_from_slice(&trace.to_be_bytes());
    id
}

fn span_id(trace: u64, span: u64) -> [u8; 8] {
    (trace * SPANS_PER_TRACE + span + 1).to_be_bytes()
}

/// Trace `t`: a root, a producer of message `m-t` to `jobs`, and a consumer
/// (in the next trace) linked to the previous trace's producer; the rest internal.
fn synthetic_span(now_nanos: u64, trace: u64, span: u64) -> SpanRow {
    let start = now_nanos - (TRACES - trace) * 500_000_000 + span * 1_000_000;
    let mut row = SpanRow {
        project: "default".into(),
        timestamp: (start / 1_000_000_000) as u32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 500_000,
        duration_ns: 500_000,
        trace_id: trace_id(trace),
        span_id: span_id(trace, span),
        parent_span_id: if span == 0 { [0; 8] } else { span_id(trace, 0) },
        trace_state: String::new(),
        flags: 1,
        service: format!("service-{}", trace % 50),
        name: format!("operation-{span}"),
        kind: 1,
        status_code: 0,
        status_message: String::new(),
        attribute_keys: vec!["http.route".to_owned()],
        attribute_values: vec![format!("/route/{span}")],
        attribute_types: vec![0],
        resource_keys: vec!["service.name".to_owned()].into(),
        resource_values: vec![format!("service-{}", trace % 50)].into(),
        resource_types: vec![0].into(),
        scope_name: "synthetic".into(),
        scope_version: "".into(),
        event_times_unix_nano: vec![],
        event_names: vec![],
        event_attributes: vec![],
        link_trace_ids: vec![],
        link_span_ids: vec![],
        link_trace_states: vec![],
        link_attributes: vec![],
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    };
    let messaging = |row: &mut SpanRow, message: u64| {
        row.attribute_keys
            .extend(["messaging.message.id", "messaging.destination.name"].map(str::to_owned));
        row.attribute_values
            .extend([format!("m-{message}"), "jobs".to_owned()]);
        row.attribute_types.extend([0, 0]);
    };
    if span == 1 {
        row.kind = 4;
        messaging(&mut row, trace);
    }
    if span == 2 && trace > 0 {
        row.kind = 5;
        messaging(&mut row, trace - 1);
        row.link_trace_ids = vec![trace_id(trace - 1)];
        row.link_span_ids = vec![span_id(trace - 1, 1)];
        row.link_trace_states = vec![String::new()];
        row.link_attributes = vec!["{}".to_owned()];
    }
    row
}

/// Runs a bound query with `FORMAT JSON` and returns (rows of data, rows read).
async fn rows_read(app: &TestApp, query: clickhouse::query::Query) -> anyhow::Result<(usize, u64)> {
    let text = query.sql_display().to_string().replace("?fields", "*");
    let response = app
        .http
        .post(&app.clickhouse.url)
        .query(&[("database", app.clickhouse.database.as_str())])
        .basic_auth(&app.clickhouse.user, Some(&app.clickhouse.password))
        .body(format!("{text}\nFORMAT JSON"))
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    let answer: Value = serde_json::from_str(&body)?;
    let rows = answer["data"].as_array().map_or(0, Vec::len);
    let read = &answer["statistics"]["rows_read"];
    let read = read
        .as_u64()
        .or_else(|| read.as_str().and_then(|text| text.parse().ok()))
        .ok_or_else(|| anyhow::anyhow!("no rows_read in {body}"))?;
    Ok((rows, read))
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_and_chain_lookups_read_a_few_granules_not_the_table() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let client = app.clickhouse_client();
    // The traces span about four hours ending at 23:00 UTC yesterday, so
    // they fall in one day partition whatever the time of the run.
    let now_seconds = tracehouse_model::time::now_unix_nano() / 1_000_000_000;
    let now_nanos = (now_seconds / 86_400 * 86_400 - 3_600) * 1_000_000_000;
    let mut insert = client.insert::<SpanRow>("spans").await?;
    for trace in 0..TRACES {
        for span in 0..SPANS_PER_TRACE {
            insert
                .write(&synthetic_span(now_nanos, trace, span))
                .await?;
        }
    }
    insert.end().await?;
    let total_spans = TRACES * SPANS_PER_TRACE;
    // Invocation records, one per span (more than the collector would
    // record, to give the table the size of the spans table).
    let mut insert = client.insert::<InvocationRow>("invocations").await?;
    for (trace, span) in
        (0..TRACES).flat_map(|trace| (0..SPANS_PER_TRACE).map(move |span| (trace, span)))
    {
        let root = synthetic_span(now_nanos, trace, span);
        insert
            .write(&InvocationRow {
                project: "default".to_owned(),
                timestamp: root.timestamp,
                start_time_unix_nano: root.start_time_unix_nano,
                duration_ns: root.duration_ns,
                function: root.service.clone(),
                service: root.service,
                provider: "aws".to_owned(),
                region: String::new(),
                function_version: String::new(),
                instance: String::new(),
                trigger: String::new(),
                invocation_id: String::new(),
                trace_id: root.trace_id,
                span_id: root.span_id,
                is_error: 0,
                coldstart_attribute: -1,
                memory_mb: 128,
                arch: "x86_64".to_owned(),
            })
            .await?;
    }
    insert.end().await?;
    // Rows read depend on how many parts a table has; merge each table into
    // its final layout so that the figures do not depend on the machine's load.
    for table in [
        "spans",
        "span_index",
        "trace_time_index",
        "span_links_by_linked_trace",
        "messaging_spans",
        "invocations",
    ] {
        client
            .query(&format!("OPTIMIZE TABLE {table} FINAL"))
            .execute()
            .await?;
    }

    // The reference: a filter on trace id against `span_index` (ordered by
    // service) reads the whole table.
    let middle = TRACES / 2;
    let middle_hex = hex::encode(trace_id(middle));
    let (_, scanned) = rows_read(
        &app,
        client
            .query("SELECT count() FROM span_index WHERE trace_id = toFixedString(unhex(?), 16)")
            .bind(&middle_hex),
    )
    .await?;
    assert_eq!(scanned, total_spans, "the reference query scans span_index");
    // The days of a trace (read before spans by the lookups below; 18.16
    // does not count a subquery's rows in the statistics).
    let (rows, read) = rows_read(
        &app,
        client
            .query(
                "SELECT min(first_timestamp), max(last_timestamp) FROM trace_time_index \
                 WHERE project = 'default' AND trace_id = toFixedString(unhex(?), 16)",
            )
            .bind(&middle_hex),
    )
    .await?;
    println!("days of one trace: {read} rows read of trace_time_index");
    assert_eq!(rows, 1);
    assert!(read <= 2_048, "the time index read {read} rows");

    let bound = 20_000;
    let (rows, read) = rows_read(
        &app,
        sql::TRACE_SPANS_BY_TRACE_ID.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("trace_id", middle_hex.as_str()),
        )?,
    )
    .await?;
    println!("trace by id: {rows} spans, {read} rows read of {total_spans}");
    assert_eq!(rows as u64, SPANS_PER_TRACE);
    assert!(read <= bound, "trace by id read {read} rows");

    let batch: Vec<String> = (middle..middle + 10)
        .map(|trace| hex::encode(trace_id(trace)))
        .collect();
    let (rows, read) = rows_read(
        &app,
        sql::CHAIN_TRACE_SPANS.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("trace_ids", batch.clone())
                .set("limit", 20_001u64),
        )?,
    )
    .await?;
    println!("chain step, 10 traces: {rows} spans, {read} rows read");
    assert_eq!(rows as u64, 10 * SPANS_PER_TRACE);
    assert!(read <= 4 * bound, "a batch of 10 traces read {read} rows");

    let (rows, read) = rows_read(
        &app,
        sql::CHAIN_LINKS_TO_TRACES.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("trace_ids", batch.clone())
                .set("limit", 201u64),
        )?,
    )
    .await?;
    println!("chain step, incoming links of 10 traces: {rows} traces, {read} rows read");
    assert_eq!(rows, 10, "each trace is linked to by the next one");
    assert!(read <= bound, "the link index read {read} rows");

    let messages: Vec<String> = (middle..middle + 10)
        .map(|trace| format!("m-{trace}"))
        .collect();
    let (rows, read) = rows_read(
        &app,
        sql::CHAIN_MESSAGES_BY_ID.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("message_ids", messages.clone())
                .set("limit", 201u64),
        )?,
    )
    .await?;
    println!("chain step, 10 message ids: {rows} traces, {read} rows read");
    assert_eq!(
        rows, 11,
        "producers of 10 traces and consumers in the next ones"
    );
    assert!(read <= bound, "the message index read {read} rows");

    // Chain cost: the invocations of a chain of 10 traces of one function
    // (every 50th trace), by the function, the time range and the trace ids.
    let same_function: Vec<u64> = (0..10).map(|step| middle + step * 50).collect();
    let functions = vec![format!("service-{}", middle % 50)];
    let chain_traces: Vec<String> = same_function
        .iter()
        .map(|trace| hex::encode(trace_id(*trace)))
        .collect();
    let first_second = synthetic_span(now_nanos, same_function[0], 0).timestamp;
    let last_second = synthetic_span(now_nanos, same_function[9], 0).timestamp + 1;
    let (rows, read) = rows_read(
        &app,
        sql::FUNCTION_COST_GROUPS.query(
            &client,
            &InvocationScope::traces(
                &ProjectId::default(),
                functions,
                chain_traces,
                &TimeWindow {
                    start_unix_nano: u64::from(first_second) * 1_000_000_000,
                    end_unix_nano: u64::from(last_second) * 1_000_000_000,
                },
            )
            .slot_params(Some(86_400))
            .set("step", 86_400u32),
        )?,
    )
    .await?;
    println!("chain invocations of 10 traces: {rows} groups, {read} rows read of {total_spans}");
    assert_eq!(rows, 1, "one pricing group");
    assert!(read <= bound, "chain invocations read {read} rows");

    // Search for one service's newest traces: candidates by the sort key, then summaries by trace id.
    let (rows, read) = rows_read(
        &app,
        sql::TRACE_SEARCH_CANDIDATES.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("from_s", 0u32)
                .set("to_s", u32::MAX)
                .set("from_ns", 0u64)
                .set("to_ns", u64::MAX)
                .set("service_low", "service-7")
                .set("service_high", "service-7")
                .set("function", "")
                .set("name_low", "")
                .set("name_high", "\u{10FFFF}\u{10FFFF}")
                .set("attributes", Vec::<String>::new())
                .set("cursor_start_ns", u64::MAX)
                .set("cursor_trace_id", "")
                .set("limit", 20u64),
        )?,
    )
    .await?;
    println!("search candidates of one service: {rows} traces, {read} rows read");
    assert_eq!(rows, 20);
    assert!(read <= bound, "search candidates read {read} rows");
    let newest: Vec<String> = (0..20)
        .map(|back| hex::encode(trace_id(TRACES - 43 - back * 50)))
        .collect();
    let (rows, read) = rows_read(
        &app,
        sql::TRACE_SUMMARIES.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("trace_ids", newest.clone()),
        )?,
    )
    .await?;
    println!("search summaries of 20 traces: {rows} traces, {read} rows read");
    assert_eq!(rows, 20);
    assert!(read <= 2 * bound, "search summaries read {read} rows");

    // The whole chain is 30,000 traces long; the query stops at the default cap.
    let started = std::time::Instant::now();
    let (status, chain) = app
        .get_json(&format!("/api/v1/chains/{middle_hex}"))
        .await?;
    println!(
        "chain of {} traces (truncated) answered in {:?}",
        tracehouse_query::chains::DEFAULT_MAX_TRACES,
        started.elapsed()
    );
    assert_eq!(status, 200, "{chain}");
    assert_eq!(chain["truncated"], true);
    assert_eq!(
        chain["trace_ids"].as_array().map(Vec::len),
        Some(tracehouse_query::chains::DEFAULT_MAX_TRACES)
    );
    app.stop().await
}

/// A trace lookup reads only the days the trace has spans in: with traces
/// in eight day partitions, the lookup bounded by `trace_time_index` reads
/// one granule of one day, the same filter on trace id alone one in each.
#[tokio::test(flavor = "multi_thread")]
async fn a_trace_lookup_reads_only_the_days_of_its_trace() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let client = app.clickhouse_client();
    let today = tracehouse_model::time::now_unix_nano() / 1_000_000_000 / 86_400 * 86_400;
    let mut insert = client.insert::<SpanRow>("spans").await?;
    for trace in 0..8_000 {
        // Trace t at noon of day t % 8 before today.
        let noon = (today - (trace % 8 + 1) * 86_400 + 43_200) * 1_000_000_000;
        for span in 0..SPANS_PER_TRACE {
            let mut row = synthetic_span(noon, TRACES, span);
            row.trace_id = trace_id(trace);
            insert.write(&row).await?;
        }
    }
    insert.end().await?;
    for table in ["spans", "trace_time_index"] {
        client
            .query(&format!("OPTIMIZE TABLE {table} FINAL"))
            .execute()
            .await?;
    }
    let target = hex::encode(trace_id(4_321));
    let query = || {
        sql::TRACE_SPANS_BY_TRACE_ID.query(
            &client,
            &Params::new()
                .set("project", "default")
                .set("trace_id", target.as_str()),
        )
    };
    let (rows, bounded) = rows_read(&app, query()?).await?;
    let unbounded_sql = sql::TRACE_SPANS_BY_TRACE_ID
        .sql()
        .lines()
        .filter(|line| !line.contains("trace_time_index"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("?fields", "*");
    let (unbounded_rows, unbounded) = rows_read(
        &app,
        client
            .query(&unbounded_sql)
            .bind("default")
            .bind(target.as_str()),
    )
    .await?;
    println!("trace by id over 8 days: {bounded} rows read with its days, {unbounded} without");
    assert_eq!(rows as u64, SPANS_PER_TRACE);
    assert_eq!(unbounded_rows, rows);
    assert!(bounded <= 1_024, "the lookup read {bounded} rows");
    assert!(
        unbounded >= 8 * 1_024,
        "each day partition is read: {unbounded}"
    );
    app.stop().await
}
