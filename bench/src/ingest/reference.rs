//! The reference: a minimal writer that inserts the workload's spans, each
//! once, into one plain MergeTree table with the columns of `spans` (no
//! views, no second table), in RowBinary batches through the clickhouse
//! crate. Rows are built before the clock starts; the time is the inserts'.

use super::process::CpuMeter;
use std::time::{Duration, Instant};
use tracehouse_collector::otlp::convert::{convert_resource_spans, TimeWindow};
use tracehouse_collector::SpanLimits;
use tracehouse_model::ProjectId;
use tracehouse_schema::rows::{SpanRow, SpanRowEncoder};
use tracehouse_schema::ClickHouseSettings;
use tracehouse_simulator::{relabel_trace_id, Workload};

/// The `spans` table as the first migration creates it.
const SPANS_DDL: &str = include_str!("../../../schema/migrations/0001_spans.sql");
/// Rows per insert, as Tracehouse's default batch.
const BATCH_ROWS: usize = 20_000;

/// What the reference writer did.
pub struct ReferenceResult {
    pub spans: u64,
    pub seconds: f64,
    /// CPU seconds of this process (only the writer runs meanwhile).
    pub writer_cpu_seconds: f64,
}

/// One pass of the workload as rows.
fn rows_of_one_pass(workload: &Workload) -> Vec<SpanRow> {
    let mut encoder = SpanRowEncoder::new(&ProjectId::default());
    let window = TimeWindow::around_now(Duration::from_secs(86_400), Duration::from_secs(86_400));
    (0..workload.requests_per_pass())
        .filter_map(|index| workload.request(index))
        .flat_map(|request| {
            convert_resource_spans(request.resource_spans, window, &SpanLimits::default()).spans
        })
        .map(|span| encoder.row(&span))
        .collect()
}

/// Row `row` with the trace ids of pass `pass` (as [`Workload::request`] gives them).
fn relabelled(row: &SpanRow, pass: u64) -> SpanRow {
    let mut row = row.clone();
    relabel_trace_id(&mut row.trace_id, pass);
    for link in &mut row.link_trace_ids {
        relabel_trace_id(link, pass);
    }
    row
}

/// Creates `database` with the reference table and inserts for `duration`.
pub async fn run(
    settings: &ClickHouseSettings,
    workload: &Workload,
    duration: Duration,
) -> anyhow::Result<ReferenceResult> {
    settings.ensure_database().await?;
    let client = settings.client()?;
    client.query(SPANS_DDL).execute().await?;
    let rows = rows_of_one_pass(workload);
    anyhow::ensure!(!rows.is_empty(), "the workload is empty");
    let meter = CpuMeter::start(std::process::id())?;
    let started = Instant::now();
    let (mut spans, mut pass) = (0u64, 0u64);
    while started.elapsed() < duration {
        for chunk in rows.chunks(BATCH_ROWS) {
            let mut insert = client.insert::<SpanRow>("spans").await?;
            for row in chunk {
                insert.write(&relabelled(row, pass)).await?;
            }
            insert.end().await?;
            spans += chunk.len() as u64;
            if started.elapsed() >= duration {
                break;
            }
        }
        pass += 1;
    }
    Ok(ReferenceResult {
        spans,
        seconds: started.elapsed().as_secs_f64(),
        writer_cpu_seconds: meter.seconds()?,
    })
}
