//! `tracehouse`: observability for serverless functions.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    Serve(Box<ServeArgs>),
    /// Drive a simulated serverless application against a Tracehouse over OTLP/gRPC.
    Demo(DemoArgs),
    /// Manage ingest tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
}

/// `tracehouse user ...`.
#[derive(Subcommand)]
enum UserCommand {
    /// Add a user: reads the password from the first line of standard input
    /// and appends the user with its argon2 hash to the file `auth.file`
    /// names (else to the configuration file).
    Add {
        /// The login name.
        #[arg(long)]
        name: String,
        /// A project the user may read; repeat for more.
        #[arg(long = "project", required = true)]
        projects: Vec<String>,
        /// `read` or `admin` (admins may also change state: silences, reloads).
        #[arg(long, default_value = "read")]
        role: String,
        /// The configuration file.
        #[arg(long, env = "TRACEHOUSE_CONFIG")]
        config: std::path::PathBuf,
    },
}

/// `tracehouse token ...`.
#[derive(Subcommand)]
enum TokenCommand {
    /// Create an ingest token for a project: prints it once and appends its
    /// SHA-256 to the file `auth.file` names (else to the configuration file).
    Create {
        /// The project the token writes into.
        #[arg(long)]
        project: String,
        /// The configuration file.
        #[arg(long, env = "TRACEHOUSE_CONFIG")]
        config: std::path::PathBuf,
    },
}

/// `tracehouse demo`: what to simulate and where to send it.
#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// OTLP/gRPC endpoint of the Tracehouse to send to.
    #[arg(
        long,
        env = "TRACEHOUSE_DEMO_TARGET",
        default_value = "http://127.0.0.1:4317"
    )]
    target: String,
    /// Orders per second at the peak of the traffic wave (each order is about ten spans).
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Seconds to run live after the history; without it the demo runs until stopped.
    #[arg(long)]
    duration_secs: Option<u64>,
    /// Hours of history sent first, with past timestamps.
    #[arg(long, default_value_t = 3.0)]
    backfill_hours: f64,
    /// Seed of the random choices: the same seed gives the same demo.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Ingest token to send (`tracehouse token create`), for a Tracehouse that requires one.
    #[arg(long, env = "TRACEHOUSE_DEMO_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl DemoArgs {
    fn options(&self) -> tracehouse_simulator::DemoOptions {
        tracehouse_simulator::DemoOptions {
            rate_per_second: self.rate.max(0.0),
            duration: self.duration_secs.map(std::time::Duration::from_secs),
            backfill: std::time::Duration::from_secs_f64(
                self.backfill_hours.clamp(0.0, 24.0 * 30.0) * 3600.0,
            ),
            seed: self.seed,
            ingest_token: self.token.clone(),
        }
    }
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
        Some(("demo", demo_matches)) => match DemoArgs::from_arg_matches(demo_matches) {
            Ok(args) => run_demo(&args).await,
            Err(error) => error.exit(),
        },
        Some(("user", user_matches)) => match UserCommand::from_arg_matches(user_matches) {
            Ok(command) => run_user(command),
            Err(error) => error.exit(),
        },
        Some(("token", token_matches)) => match TokenCommand::from_arg_matches(token_matches) {
            Ok(command) => run_token(command),
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

async fn run_demo(args: &DemoArgs) -> anyhow::Result<()> {
    let summary = tracehouse_simulator::run(&args.target, &args.options()).await?;
    tracing::info!(
        spans = summary.spans,
        requests = summary.requests,
        "demo finished"
    );
    Ok(())
}

fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { project, config } => {
            let (token, file) = tracehouse::access::create_ingest_token(&config, &project)?;
            eprintln!(
                "added an ingest token for project {project} to {} (a running Tracehouse picks it up); \
                 it is shown only this once:",
                file.display()
            );
            println!("{token}");
            Ok(())
        }
    }
}

fn run_user(command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        name,
        projects,
        role,
        config,
    } = command;
    let role = match role.as_str() {
        "read" => tracehouse_model::access::Role::Read,
        "admin" => tracehouse_model::access::Role::Admin,
        other => anyhow::bail!("--role: {other:?} is not read or admin"),
    };
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let file = tracehouse::access::add_user(&config, &name, &projects, role, password)?;
    eprintln!(
        "added user {name} to {} (a running Tracehouse picks it up)",
        file.display()
    );
    Ok(())
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let demo = args.demo;
    let mut config = Config::resolve(args)?;
    let demo_token = if demo {
        tracehouse::demo::prepare(&mut config)?
    } else {
        None
    };
    let running = serve(config).await?;
    print_endpoints(&running);
    if demo {
        tracehouse::demo::spawn(&running, demo_token);
    }
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
    let scheme = if running.serves_tls { "https" } else { "http" };
    line("dashboard", format!("{scheme}://{}/", addresses.http));
    if let Some(address) = addresses.otlp_grpc {
        line("otlp-grpc", format!("{scheme}://{address}"));
    }
    if let Some(address) = addresses.otlp_http {
        line("otlp-http", format!("{scheme}://{address}"));
    }
    line(
        "clickhouse",
        tracehouse::config::url_for_display(&running.clickhouse.url),
    );
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
