//! The ingest benchmark's table, printed and as JSON.

use super::clickhouse::Server;
use super::Options;
use serde_json::{json, Value};
use std::path::Path;
use tracehouse_simulator::Workload;

const MIB: f64 = 1024.0 * 1024.0;

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Figures {
    pub name: String,
    /// Spans acknowledged (and then counted in ClickHouse).
    pub spans: u64,
    /// From the first request to the last row counted.
    pub seconds: f64,
    /// From the first request to the last acknowledgement.
    pub acknowledged_seconds: f64,
    /// Requests answered "retry later".
    pub refused: u64,
    pub collector_cpu_seconds: f64,
    pub clickhouse_cpu_seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    /// Active parts of every table of the run's database.
    pub disk_bytes: u64,
}

impl Figures {
    fn spans_per_second(&self) -> f64 {
        self.spans as f64 / self.seconds.max(1e-9)
    }

    fn per_million(&self, seconds: f64) -> f64 {
        seconds * 1e6 / (self.spans.max(1) as f64)
    }

    fn bytes_per_span(&self) -> f64 {
        self.disk_bytes as f64 / (self.spans.max(1) as f64)
    }

    fn to_json(&self, reference_rate: f64) -> Value {
        json!({
            "name": self.name,
            "spans": self.spans,
            "seconds_end_to_end": self.seconds,
            "seconds_acknowledged": self.acknowledged_seconds,
            "spans_per_second": self.spans_per_second(),
            "ratio_to_reference": self.spans_per_second() / reference_rate.max(1e-9),
            "refused_requests": self.refused,
            "collector_cpu_seconds": self.collector_cpu_seconds,
            "collector_cpu_seconds_per_million_spans": self.per_million(self.collector_cpu_seconds),
            "clickhouse_cpu_seconds": self.clickhouse_cpu_seconds,
            "clickhouse_cpu_seconds_per_million_spans": self.per_million(self.clickhouse_cpu_seconds),
            "peak_rss_bytes": self.peak_rss_bytes,
            "disk_bytes": self.disk_bytes,
            "bytes_per_span": self.bytes_per_span(),
        })
    }
}

/// The conditions of a run.
pub struct Context {
    lines: Vec<String>,
    json: Value,
}

impl Context {
    pub async fn describe(
        server: &Server,
        workload: &Workload,
        options: &Options,
        rotel: String,
    ) -> Self {
        let version = server
            .query("SELECT version()")
            .await
            .map(|text| text.trim().to_owned())
            .unwrap_or_else(|error| format!("unknown ({error})"));
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let lines = vec![
            format!(
                "{} s of load per run, {} streams, requests of {} spans; workload: the simulator's application, {} spans in {} requests per pass, new trace and message ids each pass",
                options.duration.as_secs(),
                options.streams,
                options.spans_per_request,
                workload.spans_per_pass(),
                workload.requests_per_pass()
            ),
            format!("ClickHouse {version} (managed, shared by every run, one database each); {cores} cores; runs one after the other"),
            rotel,
        ];
        let json = json!({
            "date_unix": tracehouse_model::time::now_unix_nano() / 1_000_000_000,
            "duration_seconds": options.duration.as_secs(),
            "streams": options.streams,
            "spans_per_request": options.spans_per_request,
            "spans_per_pass": workload.spans_per_pass(),
            "clickhouse_version": version,
            "cores": cores,
            "notes": lines,
        });
        Self { lines, json }
    }
}

fn reference_rate(rows: &[Figures]) -> f64 {
    rows.first().map_or(0.0, Figures::spans_per_second)
}

/// Prints the table (the first row is the reference).
pub fn print(rows: &[Figures], context: &Context) {
    let reference = reference_rate(rows);
    println!(
        "{:<40} {:>10} {:>10} {:>8} {:>10} {:>10} {:>9} {:>8} {:>8}",
        "run",
        "spans",
        "spans/s",
        "vs ref",
        "CPU s/1M",
        "CH CPU s",
        "peak MiB",
        "B/span",
        "refused"
    );
    for row in rows {
        let rss = row
            .peak_rss_bytes
            .map_or("-".to_owned(), |bytes| format!("{:.0}", bytes as f64 / MIB));
        println!(
            "{:<40} {:>10} {:>10.0} {:>8.2} {:>10.2} {:>10.1} {:>9} {:>8.1} {:>8}",
            row.name,
            row.spans,
            row.spans_per_second(),
            row.spans_per_second() / reference.max(1e-9),
            row.per_million(row.collector_cpu_seconds),
            row.clickhouse_cpu_seconds,
            rss,
            row.bytes_per_span(),
            row.refused
        );
    }
    println!("spans/s: end to end, first request to last row counted in ClickHouse; CPU s/1M: the collector's process (the reference: the writer's); CH CPU s: the ClickHouse server during the run");
    for line in &context.lines {
        println!("{line}");
    }
}

/// Writes the table and its conditions to `path`.
pub fn write_json(rows: &[Figures], context: &Context, path: &Path) -> anyhow::Result<()> {
    let reference = reference_rate(rows);
    let document = json!({
        "context": context.json,
        "runs": rows.iter().map(|row| row.to_json(reference)).collect::<Vec<_>>(),
    });
    std::fs::write(path, serde_json::to_string_pretty(&document)?)?;
    println!("written to {}", path.display());
    Ok(())
}
