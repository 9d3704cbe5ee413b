//! `tracehouse-bench trace-lookup`: bytes on disk per span and the latency
//! of trace by id, trace search, the functions list and chains at a number
//! of stored spans while ingest runs; see [`lookup`].
//!
//! `tracehouse-bench ingest`: see [`ingest`]; `tracehouse-bench pages`: see [`pages`].

mod ingest;
mod lookup;
mod pages;

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bytes per span and query latency (trace by id, search, functions, chains) while ingest runs.
    TraceLookup {
        /// Spans to store (copies of one pool of the simulator's application).
        #[arg(long, default_value_t = 10_000_000)]
        spans: u64,
        /// Spans of the simulator's application in the pool that is copied.
        #[arg(long, default_value_t = 100_000)]
        pool_spans: u64,
        /// Runs of each query.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Spans inserted per second while the queries run (0: none).
        #[arg(long, default_value_t = 2_000)]
        ingest_spans_per_second: u64,
        /// Measure trace by id only (for 100 million spans).
        #[arg(long)]
        trace_by_id_only: bool,
        /// Existing ClickHouse to use (its database `tracehouse_bench` is dropped first); a managed one otherwise.
        #[arg(long)]
        clickhouse_url: Option<String>,
    },
    /// End-to-end ingest of the simulator's workload: a reference writer,
    /// Tracehouse over OTLP/gRPC and OTLP/HTTP, and Rotel; one table.
    Ingest {
        /// Seconds of load in each run.
        #[arg(long, default_value_t = 60)]
        duration_secs: u64,
        /// A short run (5 s each) to check that everything works.
        #[arg(long)]
        smoke: bool,
        /// Concurrent exporters, one connection each.
        #[arg(long, default_value_t = 4)]
        streams: usize,
        /// Spans per OTLP request.
        #[arg(long, default_value_t = 1_000)]
        spans_per_request: usize,
        /// Spans generated once and replayed with new trace and message ids.
        #[arg(long, default_value_t = 100_000)]
        pool_spans: u64,
        /// Skip the Rotel run.
        #[arg(long)]
        no_rotel: bool,
        /// The `tracehouse` binary [default: next to this one].
        #[arg(long)]
        tracehouse_binary: Option<std::path::PathBuf>,
    },
    /// Server time of every dashboard page at a number of stored spans.
    Pages {
        /// Spans to store first.
        #[arg(long, default_value_t = 1_000_000)]
        spans: u64,
        /// Fetches of each page.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Existing ClickHouse to use (its database `bench_pages` is dropped
        /// first); with a `query_log`, the slowest queries are listed too.
        #[arg(long)]
        clickhouse_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::TraceLookup {
            spans,
            pool_spans,
            runs,
            ingest_spans_per_second,
            trace_by_id_only,
            clickhouse_url,
        } => {
            lookup::run(lookup::Options {
                spans: spans.max(1),
                pool_spans: pool_spans.max(1),
                runs: runs.max(1),
                ingest_spans_per_second,
                trace_by_id_only,
                clickhouse_url,
            })
            .await
        }
        Command::Ingest {
            duration_secs,
            smoke,
            streams,
            spans_per_request,
            pool_spans,
            no_rotel,
            tracehouse_binary,
        } => {
            ingest::run(ingest::Options {
                duration: Duration::from_secs(if smoke { 5 } else { duration_secs.max(1) }),
                streams: streams.max(1),
                spans_per_request: spans_per_request.max(1),
                pool_spans: if smoke {
                    pool_spans.min(20_000)
                } else {
                    pool_spans
                },
                rotel: !no_rotel,
                tracehouse_binary,
            })
            .await
        }
        Command::Pages {
            spans,
            rounds,
            clickhouse_url,
        } => pages::run(spans, rounds, clickhouse_url).await,
    }
}
