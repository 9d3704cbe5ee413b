//! Configuration of `tracehouse serve`, declared once: each field of
//! [`Config`] is a flag (`--batch-max-rows`), an environment variable
//! (`TRACEHOUSE_BATCH_MAX_ROWS`) and a key of the TOML file (`--config`),
//! and its default is the flag's default. [`Config::resolve`] layers them
//! with figment: defaults, then the file, then the environment, then flags.
//! Validation is a separate step that names the key. Every key is
//! documented in `docs/configuration.md` (a test keeps the document, the
//! example file and this struct in step).

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracehouse_collector::config as collector_defaults;
use tracehouse_collector::wal::WalSync;
use tracehouse_query::chains::{self, broken};
use tracehouse_query::limits::{self, QueryLimits};
use tracehouse_query::pricing::{FunctionOverride, PricingSettings};

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Layer(Box<figment::Error>),
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// Which parts of Tracehouse a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// OTLP receivers and the writer.
    Collector,
    /// The query API and the dashboard.
    Query,
    /// Alert evaluation and webhook delivery; run it in exactly one process.
    Alerts,
}

/// `tracehouse serve`'s command line: the configuration file and every setting.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "TRACEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Also run the demo: a simulated serverless application sending to this
    /// process's own OTLP/gRPC receiver (see `tracehouse demo`).
    #[arg(long)]
    pub demo: bool,
    /// Every setting, as parsed (defaults included).
    #[command(flatten)]
    pub settings: Config,
    /// Keys given by a flag or an environment variable: only these override the file.
    #[arg(skip)]
    pub explicit: BTreeSet<String>,
}

impl ServeArgs {
    /// Parses the `serve` subcommand's matches, remembering which keys were given.
    pub fn from_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::from_arg_matches(matches)?;
        args.explicit = Config::command_args()
            .filter(|id| {
                matches!(
                    matches.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .collect();
        Ok(args)
    }

    /// Parses a command line such as `["serve", "--retention-days", "3"]`,
    /// environment variables included (for tests and embedding).
    pub fn parse_from<I, T>(command_line: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches =
            Self::augment_args(clap::Command::new("serve")).try_get_matches_from(command_line)?;
        Self::from_matches(&matches)
    }
}

/// The effective configuration. Each field's doc comment is its `--help` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Args)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory for everything the process keeps on disk.
    #[arg(long, env = "TRACEHOUSE_DATA_DIR", default_value = "./tracehouse-data")]
    pub data_dir: PathBuf,
    /// URL of an existing ClickHouse server; without it, Tracehouse runs its own (managed mode).
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clickhouse_url: Option<String>,
    /// ClickHouse server binary for managed mode [default: clickhouse-server or clickhouse on PATH].
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_BINARY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clickhouse_binary: Option<PathBuf>,
    /// ClickHouse user.
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_USER", default_value = "default")]
    pub clickhouse_user: String,
    /// ClickHouse password.
    #[arg(
        long,
        env = "TRACEHOUSE_CLICKHOUSE_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    pub clickhouse_password: Secret,
    /// ClickHouse database, created when missing.
    #[arg(
        long,
        env = "TRACEHOUSE_CLICKHOUSE_DATABASE",
        default_value = "tracehouse"
    )]
    pub clickhouse_database: String,
    /// Cluster of the servers' `remote_servers` to run on (scale-out mode):
    /// sharded, replicated tables behind `Distributed` ones; `clickhouse_url`
    /// may point at any of its nodes. Without it, one server.
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_CLUSTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clickhouse_cluster: Option<String>,
    /// OTLP/gRPC listen address; port 0 picks a free port.
    #[arg(
        long,
        env = "TRACEHOUSE_OTLP_GRPC_ADDR",
        default_value = "127.0.0.1:4317"
    )]
    pub otlp_grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address.
    #[arg(
        long,
        env = "TRACEHOUSE_OTLP_HTTP_ADDR",
        default_value = "127.0.0.1:4318"
    )]
    pub otlp_http_addr: SocketAddr,
    /// Query API and dashboard listen address.
    #[arg(long, env = "TRACEHOUSE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Days of data kept; older day partitions are dropped.
    #[arg(long, env = "TRACEHOUSE_RETENTION_DAYS", default_value_t = 7)]
    pub retention_days: u32,
    /// Roles this process runs, comma-separated.
    #[arg(
        long,
        env = "TRACEHOUSE_ROLES",
        value_delimiter = ',',
        default_value = "collector,query,alerts"
    )]
    pub roles: Vec<Role>,
    /// Largest OTLP request body in bytes, before and after decompression.
    #[arg(long, env = "TRACEHOUSE_MAX_REQUEST_BYTES",
        default_value_t = collector_defaults::DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Rows that make the writer flush a batch.
    #[arg(long, env = "TRACEHOUSE_BATCH_MAX_ROWS",
        default_value_t = collector_defaults::DEFAULT_BATCH_MAX_ROWS)]
    pub batch_max_rows: usize,
    /// Milliseconds after which a batch is flushed however small.
    #[arg(long = "batch-max-age-ms", id = "batch_max_age_ms", env = "TRACEHOUSE_BATCH_MAX_AGE_MS",
        default_value_t = WholeUnits(collector_defaults::DEFAULT_BATCH_MAX_AGE))]
    #[serde(rename = "batch_max_age_ms")]
    pub batch_max_age: Millis,
    /// Rows that may wait for ClickHouse before receivers answer "retry later".
    #[arg(long, env = "TRACEHOUSE_QUEUE_MAX_ROWS",
        default_value_t = collector_defaults::DEFAULT_QUEUE_MAX_ROWS)]
    pub queue_max_rows: usize,
    /// Bytes the queued rows of every table together may hold before receivers answer "retry later".
    #[arg(long, env = "TRACEHOUSE_QUEUE_MAX_BYTES",
        default_value_t = tracehouse_collector::queue::DEFAULT_QUEUE_MAX_BYTES)]
    pub queue_max_bytes: usize,
    /// Percent of `queue_max_bytes` one project may hold; over it, its requests get "retry later".
    #[arg(long, env = "TRACEHOUSE_QUEUE_PROJECT_SHARE_PERCENT",
        default_value_t = tracehouse_collector::queue::DEFAULT_PROJECT_SHARE_PERCENT)]
    pub queue_project_share_percent: u8,
    /// Spans after this many in one request are rejected (partial success, counted).
    #[arg(long, env = "TRACEHOUSE_MAX_SPANS_PER_REQUEST",
        default_value_t = collector_defaults::DEFAULT_MAX_SPANS_PER_REQUEST)]
    pub max_spans_per_request: usize,
    /// Attributes after this many on a span, event or link are dropped (counted).
    #[arg(long, env = "TRACEHOUSE_MAX_ATTRIBUTES_PER_SPAN",
        default_value_t = collector_defaults::DEFAULT_MAX_ATTRIBUTES_PER_SPAN)]
    pub max_attributes_per_span: usize,
    /// String and bytes attribute values are truncated to this many bytes (counted).
    #[arg(long, env = "TRACEHOUSE_MAX_ATTRIBUTE_VALUE_BYTES",
        default_value_t = collector_defaults::DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES)]
    pub max_attribute_value_bytes: usize,
    /// Array and key/value list values nested deeper than this become empty (counted).
    #[arg(long, env = "TRACEHOUSE_MAX_VALUE_DEPTH",
        default_value_t = collector_defaults::DEFAULT_MAX_VALUE_DEPTH)]
    pub max_value_depth: usize,
    /// Events after this many on a span are dropped (counted).
    #[arg(long, env = "TRACEHOUSE_MAX_EVENTS_PER_SPAN",
        default_value_t = collector_defaults::DEFAULT_MAX_EVENTS_PER_SPAN)]
    pub max_events_per_span: usize,
    /// Links after this many on a span are dropped (counted).
    #[arg(long, env = "TRACEHOUSE_MAX_LINKS_PER_SPAN",
        default_value_t = collector_defaults::DEFAULT_MAX_LINKS_PER_SPAN)]
    pub max_links_per_span: usize,
    /// OTLP requests each receiver (gRPC, HTTP) handles at once; more are answered "retry later".
    #[arg(long, env = "TRACEHOUSE_MAX_CONCURRENT_REQUESTS",
        default_value_t = collector_defaults::DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_requests: usize,
    /// Seconds an OTLP/HTTP request body may take to arrive; slower ones get 408.
    #[arg(long = "body-read-timeout-secs", id = "body_read_timeout_secs",
        env = "TRACEHOUSE_BODY_READ_TIMEOUT_SECS",
        default_value_t = WholeUnits(collector_defaults::DEFAULT_BODY_READ_TIMEOUT))]
    #[serde(rename = "body_read_timeout_secs")]
    pub body_read_timeout: Seconds,
    /// Bytes the write-ahead log (`<data_dir>/wal`) may hold; when full, receivers answer "retry later".
    #[arg(long, env = "TRACEHOUSE_WAL_MAX_BYTES",
        default_value_t = tracehouse_collector::wal::DEFAULT_WAL_MAX_BYTES)]
    pub wal_max_bytes: u64,
    /// When appends to the write-ahead log reach the disk: `fsync` (each group of appends is
    /// fsynced before the receivers answer) or `write` (no fsync: survives a crash of
    /// Tracehouse, not of the machine).
    #[arg(long, env = "TRACEHOUSE_WAL_SYNC", default_value_t = WalSync::Fsync)]
    pub wal_sync: WalSync,
    /// Seconds a graceful stop (SIGTERM) may take: open connections, then writing what was accepted.
    #[arg(long = "shutdown-timeout-secs", id = "shutdown_timeout_secs",
        env = "TRACEHOUSE_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = WholeUnits(Duration::from_secs(25)))]
    #[serde(rename = "shutdown_timeout_secs")]
    pub shutdown_timeout: Seconds,
    /// Traces one chain query reads at most; beyond, the chain is truncated.
    #[arg(long, env = "TRACEHOUSE_CHAIN_MAX_TRACES", default_value_t = chains::DEFAULT_MAX_TRACES)]
    pub chain_max_traces: usize,
    /// Spans one chain query reads at most; beyond, the chain is truncated.
    #[arg(long, env = "TRACEHOUSE_CHAIN_MAX_SPANS", default_value_t = chains::DEFAULT_MAX_SPANS)]
    pub chain_max_spans: usize,
    /// Seconds a produced message may wait for a consumer before it is listed as lost.
    #[arg(long = "lost-message-wait-secs", id = "lost_message_wait_secs",
        env = "TRACEHOUSE_LOST_MESSAGE_WAIT_SECS",
        default_value_t = WholeUnits(broken::DEFAULT_LOST_MESSAGE_WAIT))]
    #[serde(rename = "lost_message_wait_secs")]
    pub lost_message_wait: Seconds,
    /// Failed deliveries of one message, without a success, that list it as failed.
    #[arg(long, env = "TRACEHOUSE_MAX_FAILED_DELIVERIES",
        default_value_t = broken::DEFAULT_MAX_FAILED_DELIVERIES)]
    pub max_failed_deliveries: u32,
    /// Directory of user dashboard files (`*.yaml`), served at `/dashboards/{name}`.
    #[arg(long, env = "TRACEHOUSE_DASHBOARDS_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboards_dir: Option<PathBuf>,
    /// Longest window a query may cover, a duration such as `7d` or `36h`
    /// [default: the retention]; a longer window is answered 400.
    #[arg(long, env = "TRACEHOUSE_MAX_QUERY_WINDOW")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_query_window: Option<String>,
    /// Seconds one ClickHouse query may run (`max_execution_time`); longer is answered 503.
    #[arg(long = "query-max-execution-secs", id = "query_max_execution_secs",
        env = "TRACEHOUSE_QUERY_MAX_EXECUTION_SECS",
        default_value_t = WholeUnits(limits::DEFAULT_MAX_EXECUTION_TIME))]
    #[serde(rename = "query_max_execution_secs")]
    pub query_max_execution: Seconds,
    /// Rows one ClickHouse query may read (`max_rows_to_read`); more is answered 400.
    #[arg(long, env = "TRACEHOUSE_QUERY_MAX_ROWS_TO_READ",
        default_value_t = limits::DEFAULT_MAX_ROWS_TO_READ)]
    pub query_max_rows_to_read: u64,
    /// Rows one ClickHouse query may return (`max_result_rows`); more is answered 400.
    #[arg(long, env = "TRACEHOUSE_QUERY_MAX_RESULT_ROWS",
        default_value_t = limits::DEFAULT_MAX_RESULT_ROWS)]
    pub query_max_result_rows: u64,
    /// Seconds a page, API or Jaeger request may take before it is answered 503.
    #[arg(long = "query-timeout-secs", id = "query_timeout_secs",
        env = "TRACEHOUSE_QUERY_TIMEOUT_SECS",
        default_value_t = WholeUnits(tracehouse_web::guard::DEFAULT_TIMEOUT))]
    #[serde(rename = "query_timeout_secs")]
    pub query_timeout: Seconds,
    /// Page, API and Jaeger requests served at once; more wait briefly, then are answered 503.
    #[arg(long, env = "TRACEHOUSE_QUERY_MAX_CONCURRENCY",
        default_value_t = tracehouse_web::guard::DEFAULT_MAX_CONCURRENCY)]
    pub query_max_concurrency: usize,
    /// Serve the dashboard and API on a non-loopback address without users
    /// or API tokens: anyone who reaches it reads every project.
    #[arg(long, env = "TRACEHOUSE_INSECURE_OPEN_DASHBOARD")]
    #[serde(default)]
    pub insecure_open_dashboard: bool,
    /// A listener of its own for `/healthz`, `/readyz` and `/metrics`; once set, these
    /// need credentials on `http_addr` like every other path.
    #[arg(long, env = "TRACEHOUSE_METRICS_ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<SocketAddr>,
    /// PEM certificate chain (the server's certificate first) served by every listener; with
    /// `tls_key_file`, every listener speaks TLS only. Reloaded on change and on SIGHUP.
    #[arg(long, env = "TRACEHOUSE_TLS_CERT_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert_file`.
    #[arg(long, env = "TRACEHOUSE_TLS_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// `[pricing]`: catalog file, free tier, region multipliers (file only).
    #[arg(skip)]
    #[serde(default)]
    pub pricing: PricingSettings,
    /// `[functions."name"]`: provider, memory_mb, arch, vcpu where telemetry
    /// lacks them (file only).
    #[arg(skip)]
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionOverride>,
    /// `[alerts]`: rules and receivers, parsed rule by rule by the alerting crate (file only).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<toml::Table>,
    /// `[auth]`: ingest tokens, read-only API tokens and users, or a file
    /// holding them (file only; see `docs/access.md`).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<tracehouse_model::access::AuthSettings>,
    /// Ingest tokens of this process only, by hash (the demo's; see
    /// [`crate::access::in_process_ingest_token`]), kept across reloads.
    #[arg(skip)]
    #[serde(skip)]
    pub in_process_ingest_tokens: Vec<tracehouse_model::access::IngestTokenEntry>,
    /// The file the configuration came from, re-read when alert rules reload.
    #[arg(skip)]
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

/// A secret setting: `Debug` shows `<hidden>`, so printing a configuration
/// never shows it; [`Secret::expose`] is the one way to read it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, to hand to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<hidden>")
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

/// `url` without the `user:password@` part, for logs, errors and the endpoint lines.
pub fn url_for_display(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// A duration set in whole units of `NANOS` nanoseconds (a number in flags, env and file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "u64", into = "u64")]
pub struct WholeUnits<const NANOS: u64>(pub Duration);

/// A duration given in milliseconds.
pub type Millis = WholeUnits<1_000_000>;
/// A duration given in seconds.
pub type Seconds = WholeUnits<1_000_000_000>;

impl<const NANOS: u64> From<u64> for WholeUnits<NANOS> {
    fn from(units: u64) -> Self {
        Self(Duration::from_nanos(units.saturating_mul(NANOS)))
    }
}

impl<const NANOS: u64> From<WholeUnits<NANOS>> for u64 {
    fn from(value: WholeUnits<NANOS>) -> Self {
        u64::try_from(value.0.as_nanos() / u128::from(NANOS)).unwrap_or(u64::MAX)
    }
}

impl<const NANOS: u64> From<Duration> for WholeUnits<NANOS> {
    fn from(duration: Duration) -> Self {
        Self(duration)
    }
}

impl<const NANOS: u64> std::fmt::Display for WholeUnits<NANOS> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", u64::from(*self))
    }
}

impl<const NANOS: u64> std::str::FromStr for WholeUnits<NANOS> {
    type Err = std::num::ParseIntError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<u64>().map(Self::from)
    }
}

impl Default for Config {
    /// The flags' defaults, without reading the environment.
    fn default() -> Self {
        let command = Config::augment_args(clap::Command::new("defaults"))
            .mut_args(|arg| arg.env(None::<&str>));
        let matches = command.get_matches_from(["defaults"]);
        // The defaults parse by construction; a unit test proves it.
        Config::from_arg_matches(&matches).unwrap_or_else(|error| panic!("defaults: {error}"))
    }
}

impl Config {
    /// The ids of every setting that has a flag, which are also the file keys.
    fn command_args() -> impl Iterator<Item = String> {
        Config::augment_args(clap::Command::new("keys"))
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Layers defaults, the file (if any), then the keys given by flags or the environment.
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &args.config {
            // Checked first for a plain message; figment names the file in its own errors.
            std::fs::metadata(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let given = figment::value::Value::serialize(&args.settings)
            .map_err(|error| ConfigError::Layer(Box::new(error)))?;
        let mut overrides = figment::value::Dict::new();
        if let Some(all) = given.into_dict() {
            for (key, value) in all {
                if args.explicit.contains(&key) {
                    overrides.insert(key, value);
                }
            }
        }
        let config: Self = figment
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|error| ConfigError::Layer(Box::new(error)))?;
        Ok(Self {
            config_file: args.config,
            ..config
        })
    }

    /// Reads a file over the defaults, with nothing from flags or the environment.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::resolve(ServeArgs {
            config: Some(path.to_owned()),
            demo: false,
            settings: Config::default(),
            explicit: BTreeSet::new(),
        })
    }

    /// Whether the listeners serve TLS (both certificate files are set; see [`crate::tls`]).
    pub fn serves_tls(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }

    /// `https` when the listeners serve TLS, else `http`.
    pub fn url_scheme(&self) -> &'static str {
        if self.serves_tls() {
            "https"
        } else {
            "http"
        }
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if self.retention_days == 0 {
            return invalid("retention_days", "must be at least 1");
        }
        if self.roles.is_empty() {
            return invalid("roles", "name at least one of collector, query, alerts");
        }
        if self.max_request_bytes < 1024 {
            return invalid("max_request_bytes", "must be at least 1024");
        }
        if self.batch_max_rows == 0 {
            return invalid("batch_max_rows", "must be at least 1");
        }
        if self.batch_max_age.0.is_zero() {
            return invalid("batch_max_age_ms", "must be at least 1");
        }
        if self.queue_max_rows < self.batch_max_rows {
            return invalid("queue_max_rows", "must be at least batch_max_rows");
        }
        if self.queue_max_bytes < 1024 * 1024 {
            return invalid("queue_max_bytes", "must be at least 1048576 (1 MiB)");
        }
        if !(1..=100).contains(&self.queue_project_share_percent) {
            return invalid("queue_project_share_percent", "must be 1 to 100");
        }
        if self.max_spans_per_request == 0 {
            return invalid("max_spans_per_request", "must be at least 1");
        }
        if self.max_concurrent_requests == 0 {
            return invalid("max_concurrent_requests", "must be at least 1");
        }
        if self.body_read_timeout.0.is_zero() {
            return invalid("body_read_timeout_secs", "must be at least 1");
        }
        if self.wal_max_bytes < self.max_request_bytes as u64 {
            return invalid("wal_max_bytes", "must be at least max_request_bytes");
        }
        if self.shutdown_timeout.0.is_zero() {
            return invalid("shutdown_timeout_secs", "must be at least 1");
        }
        if self.chain_max_traces == 0 {
            return invalid("chain_max_traces", "must be at least 1");
        }
        if self.chain_max_spans == 0 {
            return invalid("chain_max_spans", "must be at least 1");
        }
        if self.max_failed_deliveries == 0 {
            return invalid("max_failed_deliveries", "must be at least 1");
        }
        if let Err(message) = self.query_limits() {
            return invalid("max_query_window", &message);
        }
        if self.query_max_execution.0.is_zero() {
            return invalid("query_max_execution_secs", "must be at least 1");
        }
        if self.query_max_rows_to_read == 0 {
            return invalid("query_max_rows_to_read", "must be at least 1");
        }
        if !(1..=limits::DEFAULT_MAX_RESULT_ROWS).contains(&self.query_max_result_rows) {
            return invalid("query_max_result_rows", "must be 1 to 1000000");
        }
        if self.query_timeout.0.is_zero() {
            return invalid("query_timeout_secs", "must be at least 1");
        }
        if self.query_max_concurrency == 0 {
            return invalid("query_max_concurrency", "must be at least 1");
        }
        if tracehouse_schema::connection::validate_identifier(&self.clickhouse_database).is_err() {
            return invalid(
                "clickhouse_database",
                "must be letters, digits and '_', not starting with a digit",
            );
        }
        if let Err(message) = self.layout() {
            return invalid("clickhouse_cluster", &message);
        }
        if let Some(multipliers) = &self.pricing.region_multipliers {
            if multipliers
                .values()
                .any(|multiplier| !multiplier.is_finite() || *multiplier <= 0.0)
            {
                return invalid("pricing.region_multipliers", "must be positive numbers");
            }
        }
        for (name, function) in &self.functions {
            if let Some(provider) = &function.provider {
                if tracehouse_query::pricing::Provider::parse(provider).is_none() {
                    return Err(ConfigError::Invalid {
                        key: "functions.provider",
                        message: format!("{name}: {provider:?} is not aws, azure or gcp"),
                    });
                }
            }
            if function.memory_mb == Some(0) {
                return Err(ConfigError::Invalid {
                    key: "functions.memory_mb",
                    message: format!("{name}: must be at least 1"),
                });
            }
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return invalid(
                "tls_key_file",
                "set tls_cert_file and tls_key_file together",
            );
        }
        if let Some(url) = &self.clickhouse_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return invalid("clickhouse_url", "must start with http:// or https://");
            }
        }
        Ok(())
    }

    /// The bounds of every read; the longest window is the retention unless
    /// `max_query_window` says otherwise.
    pub fn query_limits(&self) -> Result<QueryLimits, String> {
        let max_window = match self.max_query_window.as_deref() {
            None => Duration::from_secs(u64::from(self.retention_days) * 86_400),
            Some(text) => {
                let nanos = tracehouse_model::duration::parse_duration_nanos(text)?;
                if nanos < 1_000_000_000 {
                    return Err("must be at least 1s".to_owned());
                }
                Duration::from_nanos(nanos)
            }
        };
        Ok(QueryLimits {
            max_window,
            max_execution_time: self.query_max_execution.0,
            max_rows_to_read: self.query_max_rows_to_read,
            max_result_rows: self.query_max_result_rows,
        })
    }

    /// One server, or the cluster `clickhouse_cluster` names. A cluster
    /// needs an existing server (`clickhouse_url`).
    pub fn layout(&self) -> Result<tracehouse_schema::Layout, String> {
        let Some(name) = &self.clickhouse_cluster else {
            return Ok(tracehouse_schema::Layout::SingleNode);
        };
        if self.clickhouse_url.is_none() {
            return Err("needs clickhouse_url: managed mode runs one server".to_owned());
        }
        tracehouse_schema::Cluster::new(name, &self.clickhouse_database)
            .map(tracehouse_schema::Layout::Cluster)
            .map_err(|error| error.to_string())
    }

    /// Whether this process runs `role`.
    pub fn runs(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of the file that are tables without a flag.
    const FILE_ONLY_TABLES: &[&str] = &["pricing", "functions", "alerts", "auth"];

    fn write_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn defaults_parse_and_validate() {
        let config = Config::default();
        assert_eq!(config.retention_days, 7);
        assert_eq!(config.queue_max_rows, 200_000);
        assert_eq!(config.batch_max_age.0, Duration::from_secs(1));
        assert_eq!(config.lost_message_wait.0, Duration::from_secs(300));
        assert_eq!(
            config.roles,
            vec![Role::Collector, Role::Query, Role::Alerts]
        );
        assert_eq!(config.http_addr, "127.0.0.1:8080".parse().expect("address"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn the_query_window_defaults_to_the_retention() {
        let mut config = Config {
            retention_days: 3,
            ..Config::default()
        };
        let limits = config.query_limits().expect("valid");
        assert_eq!(limits.max_window, Duration::from_secs(3 * 86_400));
        config.max_query_window = Some("36h".to_owned());
        let limits = config.query_limits().expect("valid");
        assert_eq!(limits.max_window, Duration::from_secs(36 * 3_600));
        assert_eq!(limits.max_execution_time, Duration::from_secs(30));
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file = write_file("retention_days = 5\nbatch_max_rows = 10\nbatch_max_age_ms = 250\n");
        let path = file.path().to_str().expect("utf-8 path");
        let args = ServeArgs::parse_from(["serve", "--config", path, "--retention-days", "3"])
            .expect("parses");
        let config = Config::resolve(args).expect("resolves");
        assert_eq!(config.retention_days, 3);
        assert_eq!(config.batch_max_rows, 10);
        assert_eq!(config.batch_max_age.0, Duration::from_millis(250));
        assert_eq!(config.queue_max_rows, 200_000);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_flag_equal_to_the_default_still_beats_the_file() {
        let file = write_file("retention_days = 5\n");
        let path = file.path().to_str().expect("utf-8 path");
        let args = ServeArgs::parse_from(["serve", "--config", path, "--retention-days", "7"])
            .expect("parses");
        assert_eq!(Config::resolve(args).expect("resolves").retention_days, 7);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let file = write_file("retention_dayz = 3\n");
        let error = Config::from_file(file.path()).expect_err("unknown key");
        assert!(error.to_string().contains("retention_dayz"), "{error}");
    }

    #[test]
    fn a_wrong_type_names_the_key_and_the_file() {
        let file = write_file("retention_days = \"three\"\n");
        let message = Config::from_file(file.path())
            .expect_err("bad type")
            .to_string();
        assert!(message.contains("retention_days"), "{message}");
        assert!(
            message.contains(&file.path().display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn every_flag_has_its_environment_variable() {
        for arg in Config::augment_args(clap::Command::new("env")).get_arguments() {
            let id = arg.get_id().to_string();
            let expected = format!("TRACEHOUSE_{}", id.to_uppercase());
            assert_eq!(
                arg.get_env().and_then(|env| env.to_str()),
                Some(expected.as_str()),
                "{id}"
            );
            assert_eq!(arg.get_long(), Some(id.replace('_', "-").as_str()), "{id}");
        }
    }

    /// Each rule of `validate`, with the key its message starts with.
    #[test]
    fn validation_names_the_key() {
        type Breaker = fn(&mut Config);
        let cases: &[(&str, Breaker)] = &[
            ("retention_days", |c| c.retention_days = 0),
            ("roles", |c| c.roles.clear()),
            ("max_request_bytes", |c| c.max_request_bytes = 1000),
            ("batch_max_rows", |c| c.batch_max_rows = 0),
            ("batch_max_age_ms", |c| {
                c.batch_max_age = Duration::ZERO.into()
            }),
            ("queue_max_rows", |c| {
                c.queue_max_rows = c.batch_max_rows - 1
            }),
            ("queue_max_bytes", |c| c.queue_max_bytes = 1000),
            ("queue_project_share_percent", |c| {
                c.queue_project_share_percent = 0
            }),
            ("max_spans_per_request", |c| c.max_spans_per_request = 0),
            ("max_concurrent_requests", |c| c.max_concurrent_requests = 0),
            ("body_read_timeout_secs", |c| {
                c.body_read_timeout = Duration::ZERO.into()
            }),
            ("wal_max_bytes", |c| c.wal_max_bytes = 1024),
            ("shutdown_timeout_secs", |c| {
                c.shutdown_timeout = Duration::ZERO.into()
            }),
            ("chain_max_traces", |c| c.chain_max_traces = 0),
            ("chain_max_spans", |c| c.chain_max_spans = 0),
            ("max_failed_deliveries", |c| c.max_failed_deliveries = 0),
            ("max_query_window", |c| {
                c.max_query_window = Some("forever".to_owned())
            }),
            ("query_max_execution_secs", |c| {
                c.query_max_execution = Duration::ZERO.into()
            }),
            ("query_max_rows_to_read", |c| c.query_max_rows_to_read = 0),
            ("clickhouse_cluster", |c| {
                c.clickhouse_cluster = Some("tracehouse".to_owned())
            }),
            ("clickhouse_cluster", |c| {
                c.clickhouse_url = Some("http://127.0.0.1:8123".to_owned());
                c.clickhouse_cluster = Some("bad-name".to_owned());
            }),
            ("query_max_result_rows", |c| c.query_max_result_rows = 0),
            ("query_timeout_secs", |c| {
                c.query_timeout = Duration::ZERO.into()
            }),
            ("query_max_concurrency", |c| c.query_max_concurrency = 0),
            ("clickhouse_database", |c| {
                c.clickhouse_database = "bad-name".to_owned()
            }),
            ("clickhouse_url", |c| {
                c.clickhouse_url = Some("ftp://x".to_owned())
            }),
            ("pricing.region_multipliers", |c| {
                c.pricing.region_multipliers = Some(BTreeMap::from([("eu".to_owned(), -1.0)]))
            }),
            ("functions.provider", |c| {
                c.functions.insert(
                    "f".to_owned(),
                    FunctionOverride {
                        provider: Some("moon".to_owned()),
                        ..Default::default()
                    },
                );
            }),
            ("functions.memory_mb", |c| {
                c.functions.insert(
                    "f".to_owned(),
                    FunctionOverride {
                        memory_mb: Some(0),
                        ..Default::default()
                    },
                );
            }),
        ];
        for (key, breaker) in cases {
            let mut config = Config::default();
            breaker(&mut config);
            let message = config.validate().expect_err(key).to_string();
            assert!(message.starts_with(&format!("{key}:")), "{key}: {message}");
        }
    }

    /// Every key is documented and shown in the example file, and the example file parses.
    #[test]
    fn docs_and_example_cover_every_key() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let docs = std::fs::read_to_string(root.join("docs/configuration.md"))
            .expect("docs/configuration.md");
        let example_path = root.join("deploy/tracehouse.example.toml");
        let example_text = std::fs::read_to_string(&example_path).expect("example config");
        Config::from_file(&example_path).expect("example config parses");
        let example_table: toml::Table = toml::from_str(&example_text).expect("example is a table");
        for key in Config::command_args() {
            assert!(docs.contains(&format!("`{key}`")), "docs lack `{key}`");
            let commented = example_text.contains(&format!("# {key} ="));
            assert!(
                example_table.contains_key(&key) || commented,
                "example config lacks {key}"
            );
            let flag = format!("--{}", key.replace('_', "-"));
            assert!(docs.contains(&flag), "docs lack {flag}");
        }
        let all_pricing = PricingSettings {
            catalog: Some(PathBuf::new()),
            free_tier: Some(false),
            region_multipliers: Some(BTreeMap::new()),
        };
        let all_function = FunctionOverride {
            provider: Some(String::new()),
            memory_mb: Some(1),
            arch: Some(String::new()),
            vcpu: Some(1.0),
        };
        let nested = [
            (
                "pricing",
                toml::Table::try_from(all_pricing).expect("pricing"),
            ),
            (
                "functions",
                toml::Table::try_from(all_function).expect("function"),
            ),
            (
                "auth",
                toml::Table::try_from(tracehouse_model::access::AuthSettings {
                    file: Some(PathBuf::new()),
                    ..Default::default()
                })
                .expect("auth"),
            ),
            (
                "alerts",
                toml::from_str(
                    "interval = \"30s\"\nrepeat_interval = \"4h\"\nexternal_url = \"\"\n\
                     collector_metrics_urls = []\nreceivers = []\nrules = []",
                )
                .expect("alerts"),
            ),
        ];
        for (table, keys) in nested {
            assert!(FILE_ONLY_TABLES.contains(&table));
            assert!(!keys.is_empty(), "{table} has no keys");
            for key in keys.keys() {
                let dotted = format!("`{table}.{key}`");
                assert!(docs.contains(&dotted), "docs lack {dotted}");
                assert!(
                    example_text.contains(&format!("{key} ="))
                        || example_text.contains(&format!("[[{table}.{key}]]")),
                    "example config lacks {table}.{key}"
                );
            }
        }
        let serialized = toml::Table::try_from(Config::default()).expect("serializes");
        for key in serialized.keys() {
            let known = Config::command_args().any(|arg| &arg == key)
                || FILE_ONLY_TABLES.contains(&key.as_str());
            assert!(
                known,
                "{key} is neither a flag nor a documented file-only table"
            );
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_and_urls_lose_their_credentials() {
        let config = Config {
            clickhouse_password: Secret::from("hunter2-secret".to_owned()),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.clickhouse_password.expose(), "hunter2-secret");
        assert_eq!(
            url_for_display("https://writer:hunter2@db.example:8443/x?y=1"),
            "https://db.example:8443/x?y=1"
        );
        assert_eq!(
            url_for_display("http://127.0.0.1:8123"),
            "http://127.0.0.1:8123"
        );
        assert_eq!(url_for_display("http://h/p@q"), "http://h/p@q");
    }
}
