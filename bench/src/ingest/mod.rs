//! `tracehouse-bench ingest`: end-to-end ingest of the simulator's
//! serverless workload, side by side with a reference writer and Rotel.
//!
//! One managed ClickHouse serves every run, each in its own database, one
//! run after the other: the reference (the same spans, each once, into one
//! plain MergeTree table in RowBinary), Tracehouse over OTLP/gRPC, then over
//! OTLP/HTTP protobuf (the `tracehouse` binary as its own process, with its
//! write-ahead log), then Rotel when `shared/peers/rotel/run_rotel.sh` can
//! install it. A run's rate is end to end: spans acknowledged, divided by
//! the time from the first request to the moment ClickHouse counts them
//! all. It prints one table and writes it as JSON to `target/bench/`.
//!
//! `cargo build --release -p tracehouse -p tracehouse-bench && target/release/tracehouse-bench ingest`

mod clickhouse;
mod load;
mod process;
mod reference;
mod report;
mod rotel;
mod tracehouse;

use clickhouse::Server;
use load::Transport;
use process::CpuMeter;
use report::Figures;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracehouse_schema::{ManagedClickHouse, ManagedOptions};
use tracehouse_simulator::Workload;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Load time of each run.
    pub duration: Duration,
    /// Concurrent exporters (one connection each).
    pub streams: usize,
    pub spans_per_request: usize,
    /// Spans generated once and replayed with new trace and message ids.
    pub pool_spans: u64,
    /// Also run Rotel (when installable).
    pub rotel: bool,
    /// The `tracehouse` binary; next to this one by default.
    pub tracehouse_binary: Option<PathBuf>,
}

/// What every run shares.
struct Bench {
    server: Server,
    clickhouse_pid: u32,
    workload: Arc<Workload>,
    options: Options,
    output: PathBuf,
}

/// Runs every measurement and prints the table.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let clickhouse_directory = directory.path().join("clickhouse");
    open_default_user(&clickhouse_directory)?;
    let managed =
        ManagedClickHouse::start(ManagedOptions::in_directory(clickhouse_directory)).await?;
    let clickhouse_pid =
        std::fs::read_to_string(managed.directory().join("clickhouse-server.pid"))?
            .trim()
            .parse::<u32>()?;
    let output = PathBuf::from("target/bench");
    std::fs::create_dir_all(&output)?;
    let now = tracehouse_model::time::now_unix_nano();
    let workload = Workload::generate(42, options.pool_spans, options.spans_per_request, now);
    let bench = Bench {
        server: Server::new(managed.url()),
        clickhouse_pid,
        workload: Arc::new(workload),
        options,
        output,
    };
    let mut rows = vec![bench.reference().await?];
    rows.push(bench.tracehouse(Transport::Grpc).await?);
    rows.push(bench.tracehouse(Transport::HttpProtobuf).await?);
    let rotel = bench.rotel(&mut rows).await;
    let context =
        report::Context::describe(&bench.server, &bench.workload, &bench.options, rotel).await;
    report::print(&rows, &context);
    report::write_json(&rows, &context, &bench.output.join("ingest.json"))?;
    Ok(())
}

/// The managed server has no password-less user; Rotel's script, the
/// reference writer and the Tracehouse under test all connect as `default`
/// without one, so the benchmark's own server (a temporary directory,
/// loopback only) gets that user through `users.d`, which ClickHouse merges
/// into the managed `users.xml`.
fn open_default_user(clickhouse_directory: &std::path::Path) -> anyhow::Result<()> {
    let users_d = clickhouse_directory.join("users.d");
    std::fs::create_dir_all(&users_d)?;
    std::fs::write(
        users_d.join("bench-default.xml"),
        "<yandex><users><default><password></password>\
         <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\
         <profile>default</profile><quota>default</quota></default></users></yandex>\n",
    )?;
    Ok(())
}

impl Bench {
    async fn reference(&self) -> anyhow::Result<Figures> {
        let database = "bench_reference";
        let settings = tracehouse_schema::ClickHouseSettings {
            url: self.server.url.clone(),
            user: "default".to_owned(),
            password: String::new(),
            database: database.to_owned(),
        };
        let clickhouse = CpuMeter::start(self.clickhouse_pid)?;
        let result = reference::run(&settings, &self.workload, self.options.duration).await?;
        let figures = Figures {
            name: "reference writer (1 table, RowBinary)".to_owned(),
            spans: result.spans,
            seconds: result.seconds,
            acknowledged_seconds: result.seconds,
            refused: 0,
            collector_cpu_seconds: result.writer_cpu_seconds,
            clickhouse_cpu_seconds: clickhouse.seconds()?,
            peak_rss_bytes: None,
            disk_bytes: self.server.bytes_on_disk(database).await?,
        };
        self.server.drop_database(database).await?;
        Ok(figures)
    }

    async fn tracehouse(&self, transport: Transport) -> anyhow::Result<Figures> {
        let (label, database) = match transport {
            Transport::Grpc => ("Tracehouse OTLP/gRPC", "bench_grpc"),
            Transport::HttpProtobuf => ("Tracehouse OTLP/HTTP protobuf", "bench_http"),
        };
        let binary = match &self.options.tracehouse_binary {
            Some(binary) => binary.clone(),
            None => tracehouse::default_binary()?,
        };
        let log = self.output.join(format!("ingest-{database}.log"));
        let process =
            tracehouse::TracehouseProcess::start(&binary, &self.server.url, database, &log).await?;
        let endpoint = match transport {
            Transport::Grpc => process.grpc_endpoint.clone(),
            Transport::HttpProtobuf => process.http_endpoint.clone(),
        };
        let figures = self
            .measure(
                label,
                transport,
                &endpoint,
                (process.pid, database, "spans"),
            )
            .await;
        process.stop().await?;
        self.server.drop_database(database).await?;
        figures
    }

    /// Rotel's row, or why there is none.
    async fn rotel(&self, rows: &mut Vec<Figures>) -> String {
        if !self.options.rotel {
            return "Rotel not run (--no-rotel)".to_owned();
        }
        let Some(script) = rotel::find_script() else {
            return "Rotel not run: shared/peers/rotel/run_rotel.sh not found above the current directory".to_owned();
        };
        match self.measure_rotel(&script).await {
            Ok(figures) => {
                rows.push(figures);
                "Rotel 0.0.1a15 (PyPI) with its default batches (8,192 spans or 200 ms), LZ4"
                    .to_owned()
            }
            Err(error) => format!("Rotel not run: {error:#}"),
        }
    }

    async fn measure_rotel(&self, script: &Path) -> anyhow::Result<Figures> {
        let database = "bench_rotel";
        let port = self
            .server
            .url
            .rsplit(':')
            .next()
            .and_then(|port| port.parse::<u16>().ok())
            .ok_or_else(|| anyhow::anyhow!("no port in {}", self.server.url))?;
        let rotel = rotel::Rotel::start(script, port, database).await?;
        let endpoint = rotel.grpc_endpoint.clone();
        let figures = self
            .measure(
                "Rotel OTLP/gRPC",
                Transport::Grpc,
                &endpoint,
                (rotel.pid, database, "otel_traces"),
            )
            .await;
        rotel.stop().await?;
        self.server.drop_database(database).await?;
        figures
    }

    /// Drives the load into `endpoint` and measures the collector `pid`
    /// writing into `database.table`.
    async fn measure(
        &self,
        label: &str,
        transport: Transport,
        endpoint: &str,
        (pid, database, table): (u32, &str, &str),
    ) -> anyhow::Result<Figures> {
        let collector = CpuMeter::start(pid)?;
        let clickhouse = CpuMeter::start(self.clickhouse_pid)?;
        let load = load::drive(
            transport,
            endpoint,
            self.workload.clone(),
            self.options.streams,
            self.options.duration,
        )
        .await?;
        let counted = self
            .server
            .wait_for_rows(&format!("{database}.{table}"), load.acknowledged_spans)
            .await?;
        Ok(Figures {
            name: label.to_owned(),
            spans: load.acknowledged_spans,
            seconds: (counted - load.started).as_secs_f64(),
            acknowledged_seconds: load.acknowledged_seconds,
            refused: load.refused,
            collector_cpu_seconds: collector.seconds()?,
            clickhouse_cpu_seconds: clickhouse.seconds()?,
            peak_rss_bytes: Some(process::peak_rss(pid)?),
            disk_bytes: self.server.bytes_on_disk(database).await?,
        })
    }
}
