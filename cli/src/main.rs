//! `tracehouse`: observability for serverless functions.

use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use tracehouse::{serve, Config, ServeArgs};

#[derive(Parser)]
#[command(
    name = "tracehouse",
    version,
    about = "Observability for serverless functions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Tracehouse: OTLP receivers, writer, query API and dashboard.
    Serve(ServeArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRACEHOUSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Parsed through the matches so that the layering knows which keys were given.
    let matches = Cli::command().get_matches();
    let result = match matches.subcommand() {
        Some(("serve", serve_matches)) => match ServeArgs::from_matches(serve_matches) {
            Ok(args) => run_serve(args).await,
            Err(error) => error.exit(),
        },
        _ => {
            let _ = Cli::command().print_help();
            return std::process::ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tracehouse: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::resolve(args)?;
    let running = serve(config).await?;
    print_endpoints(&running);
    wait_for_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await
}

/// One `listening <name> <url>` line per endpoint on stdout, for people and scripts.
fn print_endpoints(running: &tracehouse::Running) {
    let addresses = running.addresses;
    let mut stdout = std::io::stdout().lock();
    let mut line = |name: &str, url: String| {
        let _ = writeln!(stdout, "listening {name} {url}");
    };
    line("dashboard", format!("http://{}/", addresses.http));
    if let Some(address) = addresses.otlp_grpc {
        line("otlp-grpc", format!("http://{address}"));
    }
    if let Some(address) = addresses.otlp_http {
        line("otlp-http", format!("http://{address}"));
    }
    line("clickhouse", running.clickhouse.url.clone());
    let _ = stdout.flush();
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
