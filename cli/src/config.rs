//! Configuration: defaults, then the TOML file (`--config`), then
//! `TRACEHOUSE_*` environment variables, then flags. Parsing and validation
//! are separate steps; every key is documented in `docs/configuration.md`
//! (a test checks that the document and the example file cover every key).

use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracehouse_query::pricing::{FunctionOverride, PricingSettings};

/// Default directory for everything the process keeps on disk.
pub const DEFAULT_DATA_DIR: &str = "./tracehouse-data";
/// Default OTLP/gRPC listen address.
pub const DEFAULT_OTLP_GRPC_ADDR: &str = "127.0.0.1:4317";
/// Default OTLP/HTTP listen address.
pub const DEFAULT_OTLP_HTTP_ADDR: &str = "127.0.0.1:4318";
/// Default query API and dashboard listen address.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
/// Default database name.
pub const DEFAULT_DATABASE: &str = "tracehouse";
/// Default days of data kept.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
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

/// Settings of `tracehouse serve`, as flags and environment variables.
/// Every one is optional here: what is not given comes from the file or the default.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "TRACEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for everything the process keeps on disk [default: ./tracehouse-data].
    #[arg(long, env = "TRACEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// URL of an existing ClickHouse server; without it, Tracehouse runs its own.
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_URL")]
    pub clickhouse_url: Option<String>,
    /// ClickHouse server binary for managed mode [default: clickhouse-server or clickhouse on PATH].
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_BINARY")]
    pub clickhouse_binary: Option<PathBuf>,
    /// ClickHouse user [default: default].
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_USER")]
    pub clickhouse_user: Option<String>,
    /// ClickHouse password [default: empty].
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub clickhouse_password: Option<String>,
    /// ClickHouse database, created when missing [default: tracehouse].
    #[arg(long, env = "TRACEHOUSE_CLICKHOUSE_DATABASE")]
    pub clickhouse_database: Option<String>,
    /// OTLP/gRPC listen address; port 0 picks a free port [default: 127.0.0.1:4317].
    #[arg(long, env = "TRACEHOUSE_OTLP_GRPC_ADDR")]
    pub otlp_grpc_addr: Option<SocketAddr>,
    /// OTLP/HTTP listen address [default: 127.0.0.1:4318].
    #[arg(long, env = "TRACEHOUSE_OTLP_HTTP_ADDR")]
    pub otlp_http_addr: Option<SocketAddr>,
    /// Query API and dashboard listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "TRACEHOUSE_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Days of data kept; older day partitions are dropped [default: 7].
    #[arg(long, env = "TRACEHOUSE_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Roles this process runs, comma-separated [default: collector,query,alerts].
    #[arg(long, env = "TRACEHOUSE_ROLES", value_delimiter = ',')]
    pub roles: Option<Vec<Role>>,
    /// Largest OTLP request body in bytes, before and after decompression [default: 16777216].
    #[arg(long, env = "TRACEHOUSE_MAX_REQUEST_BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Rows that make the writer flush a batch [default: 20000].
    #[arg(long, env = "TRACEHOUSE_BATCH_MAX_ROWS")]
    pub batch_max_rows: Option<usize>,
    /// Milliseconds after which a batch is flushed however small [default: 1000].
    #[arg(long, env = "TRACEHOUSE_BATCH_MAX_AGE_MS")]
    pub batch_max_age_ms: Option<u64>,
    /// Rows that may wait for ClickHouse before receivers answer "retry later" [default: 200000].
    #[arg(long, env = "TRACEHOUSE_QUEUE_MAX_ROWS")]
    pub queue_max_rows: Option<usize>,
    /// Traces one chain query reads at most; beyond, the chain is truncated [default: 200].
    #[arg(long, env = "TRACEHOUSE_CHAIN_MAX_TRACES")]
    pub chain_max_traces: Option<usize>,
    /// Spans one chain query reads at most; beyond, the chain is truncated [default: 20000].
    #[arg(long, env = "TRACEHOUSE_CHAIN_MAX_SPANS")]
    pub chain_max_spans: Option<usize>,
    /// Seconds a produced message may wait for a consumer before it is listed as lost [default: 300].
    #[arg(long, env = "TRACEHOUSE_LOST_MESSAGE_WAIT_SECS")]
    pub lost_message_wait_secs: Option<u64>,
    /// Failed deliveries of one message, without a success, that list it as failed [default: 3].
    #[arg(long, env = "TRACEHOUSE_MAX_FAILED_DELIVERIES")]
    pub max_failed_deliveries: Option<u32>,
}

/// The configuration file. Same keys as the flags, with underscores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub clickhouse_url: Option<String>,
    pub clickhouse_binary: Option<PathBuf>,
    pub clickhouse_user: Option<String>,
    pub clickhouse_password: Option<String>,
    pub clickhouse_database: Option<String>,
    pub otlp_grpc_addr: Option<SocketAddr>,
    pub otlp_http_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub retention_days: Option<u32>,
    pub roles: Option<Vec<Role>>,
    pub max_request_bytes: Option<usize>,
    pub batch_max_rows: Option<usize>,
    pub batch_max_age_ms: Option<u64>,
    pub queue_max_rows: Option<usize>,
    pub chain_max_traces: Option<usize>,
    pub chain_max_spans: Option<usize>,
    pub lost_message_wait_secs: Option<u64>,
    pub max_failed_deliveries: Option<u32>,
    /// `[pricing]`: catalog file, free tier, region multipliers (file only).
    pub pricing: Option<PricingSettings>,
    /// `[functions."name"]`: provider, memory_mb, arch, vcpu where telemetry
    /// lacks them (file only).
    pub functions: Option<BTreeMap<String, FunctionOverride>>,
    /// `[alerts]`: rules and receivers, parsed by the alerting crate (file only).
    pub alerts: Option<toml::Table>,
}

impl FileConfig {
    /// Reads and parses a file; unknown keys are errors.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `None`: managed mode.
    pub clickhouse_url: Option<String>,
    /// `None`: search PATH.
    pub clickhouse_binary: Option<PathBuf>,
    pub clickhouse_user: String,
    pub clickhouse_password: String,
    pub clickhouse_database: String,
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub retention_days: u32,
    pub roles: Vec<Role>,
    pub max_request_bytes: usize,
    pub batch_max_rows: usize,
    pub batch_max_age: Duration,
    pub queue_max_rows: usize,
    pub chain_max_traces: usize,
    pub chain_max_spans: usize,
    pub lost_message_wait: Duration,
    pub max_failed_deliveries: u32,
    pub pricing: PricingSettings,
    pub functions: BTreeMap<String, FunctionOverride>,
    /// The `[alerts]` section, and the file it is re-read from on reload.
    pub alerts: Option<toml::Table>,
    pub config_file: Option<PathBuf>,
}

fn parse_default_addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

impl Config {
    /// Layers flags and environment (already merged by clap) over the file over defaults.
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let config_file = args.config.clone();
        Ok(Self {
            config_file,
            ..Self::layer(args, file)
        })
    }

    /// Layers without touching the file system (testable).
    pub fn layer(args: ServeArgs, file: FileConfig) -> Self {
        let writer_defaults = tracehouse_collector::WriterConfig::default();
        Self {
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            clickhouse_url: args.clickhouse_url.or(file.clickhouse_url),
            clickhouse_binary: args.clickhouse_binary.or(file.clickhouse_binary),
            clickhouse_user: args
                .clickhouse_user
                .or(file.clickhouse_user)
                .unwrap_or_else(|| "default".to_owned()),
            clickhouse_password: args
                .clickhouse_password
                .or(file.clickhouse_password)
                .unwrap_or_default(),
            clickhouse_database: args
                .clickhouse_database
                .or(file.clickhouse_database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            otlp_grpc_addr: args
                .otlp_grpc_addr
                .or(file.otlp_grpc_addr)
                .unwrap_or_else(|| parse_default_addr(DEFAULT_OTLP_GRPC_ADDR)),
            otlp_http_addr: args
                .otlp_http_addr
                .or(file.otlp_http_addr)
                .unwrap_or_else(|| parse_default_addr(DEFAULT_OTLP_HTTP_ADDR)),
            http_addr: args
                .http_addr
                .or(file.http_addr)
                .unwrap_or_else(|| parse_default_addr(DEFAULT_HTTP_ADDR)),
            retention_days: args
                .retention_days
                .or(file.retention_days)
                .unwrap_or(DEFAULT_RETENTION_DAYS),
            roles: args
                .roles
                .or(file.roles)
                .unwrap_or_else(|| vec![Role::Collector, Role::Query, Role::Alerts]),
            max_request_bytes: args
                .max_request_bytes
                .or(file.max_request_bytes)
                .unwrap_or(tracehouse_collector::config::DEFAULT_MAX_REQUEST_BYTES),
            batch_max_rows: args
                .batch_max_rows
                .or(file.batch_max_rows)
                .unwrap_or(writer_defaults.batch_max_rows),
            batch_max_age: args
                .batch_max_age_ms
                .or(file.batch_max_age_ms)
                .map_or(writer_defaults.batch_max_age, Duration::from_millis),
            queue_max_rows: args
                .queue_max_rows
                .or(file.queue_max_rows)
                .unwrap_or(writer_defaults.queue_max_rows),
            chain_max_traces: args
                .chain_max_traces
                .or(file.chain_max_traces)
                .unwrap_or(tracehouse_query::chains::DEFAULT_MAX_TRACES),
            chain_max_spans: args
                .chain_max_spans
                .or(file.chain_max_spans)
                .unwrap_or(tracehouse_query::chains::DEFAULT_MAX_SPANS),
            lost_message_wait: args
                .lost_message_wait_secs
                .or(file.lost_message_wait_secs)
                .map_or(
                    tracehouse_query::chains::broken::DEFAULT_LOST_MESSAGE_WAIT,
                    Duration::from_secs,
                ),
            max_failed_deliveries: args
                .max_failed_deliveries
                .or(file.max_failed_deliveries)
                .unwrap_or(tracehouse_query::chains::broken::DEFAULT_MAX_FAILED_DELIVERIES),
            pricing: file.pricing.unwrap_or_default(),
            functions: file.functions.unwrap_or_default(),
            alerts: file.alerts,
            config_file: None,
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
        if self.batch_max_age.is_zero() {
            return invalid("batch_max_age_ms", "must be at least 1");
        }
        if self.queue_max_rows < self.batch_max_rows {
            return invalid("queue_max_rows", "must be at least batch_max_rows");
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
        if tracehouse_schema::connection::validate_identifier(&self.clickhouse_database).is_err() {
            return invalid(
                "clickhouse_database",
                "must be letters, digits and '_', not starting with a digit",
            );
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
        if let Some(url) = &self.clickhouse_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return invalid("clickhouse_url", "must start with http:// or https://");
            }
        }
        Ok(())
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
    const FILE_ONLY_TABLES: &[&str] = &["pricing", "functions", "alerts"];

    #[test]
    fn flags_beat_file_beats_defaults() {
        let args = ServeArgs {
            retention_days: Some(3),
            ..Default::default()
        };
        let file = FileConfig {
            retention_days: Some(5),
            batch_max_rows: Some(10),
            ..Default::default()
        };
        let config = Config::layer(args, file);
        assert_eq!(config.retention_days, 3);
        assert_eq!(config.batch_max_rows, 10);
        assert_eq!(config.queue_max_rows, 200_000);
        assert_eq!(
            config.http_addr,
            "127.0.0.1:8080".parse().expect("valid address")
        );
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = toml::from_str::<FileConfig>("retention_dayz = 3").expect_err("unknown key");
        assert!(error.to_string().contains("retention_dayz"));
    }

    #[test]
    fn validation_names_the_key() {
        let mut config = Config::layer(ServeArgs::default(), FileConfig::default());
        config.retention_days = 0;
        assert!(config
            .validate()
            .expect_err("invalid")
            .to_string()
            .starts_with("retention_days"));
        config.retention_days = 1;
        config.clickhouse_database = "bad-name".to_owned();
        assert!(config.validate().is_err());
    }

    /// Every key of the file is documented and shown in the example file,
    /// and the example file parses.
    #[test]
    fn docs_and_example_cover_every_key() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let docs = std::fs::read_to_string(root.join("docs/configuration.md"))
            .expect("docs/configuration.md");
        let example_text = std::fs::read_to_string(root.join("deploy/tracehouse.example.toml"))
            .expect("example config");
        let example: FileConfig = toml::from_str(&example_text).expect("example config parses");
        let example_table: toml::Table = toml::from_str(&example_text).expect("example is a table");
        let all_keys = toml::Table::try_from(FileConfig {
            data_dir: Some(PathBuf::new()),
            clickhouse_url: Some(String::new()),
            clickhouse_binary: Some(PathBuf::new()),
            clickhouse_user: Some(String::new()),
            clickhouse_password: Some(String::new()),
            clickhouse_database: Some(String::new()),
            otlp_grpc_addr: example.otlp_grpc_addr,
            otlp_http_addr: example.otlp_http_addr,
            http_addr: example.http_addr,
            retention_days: Some(1),
            roles: Some(vec![]),
            max_request_bytes: Some(1),
            batch_max_rows: Some(1),
            batch_max_age_ms: Some(1),
            queue_max_rows: Some(1),
            chain_max_traces: Some(1),
            chain_max_spans: Some(1),
            lost_message_wait_secs: Some(1),
            max_failed_deliveries: Some(1),
            pricing: Some(PricingSettings {
                catalog: Some(PathBuf::new()),
                free_tier: Some(false),
                region_multipliers: Some(BTreeMap::new()),
            }),
            functions: Some(BTreeMap::from([(
                "name".to_owned(),
                FunctionOverride {
                    provider: Some(String::new()),
                    memory_mb: Some(1),
                    arch: Some(String::new()),
                    vcpu: Some(1.0),
                },
            )])),
            alerts: Some(
                toml::from_str(
                    "interval = \"30s\"\nrepeat_interval = \"4h\"\nexternal_url = \"\"\n\
                     collector_metrics_urls = []\nreceivers = []\nrules = []",
                )
                .expect("alerts table"),
            ),
        })
        .expect("serializes");
        assert_eq!(all_keys.len(), 22, "a key was added: give it a value above");
        // Nested tables are file-only: each of their keys is documented as
        // `table.key` and the example shows the table.
        for table in FILE_ONLY_TABLES {
            let Some(toml::Value::Table(nested)) = all_keys.get(*table) else {
                panic!("{table} is not a table");
            };
            let keys: Vec<String> = match *table {
                "functions" => nested
                    .values()
                    .filter_map(toml::Value::as_table)
                    .flat_map(|function| function.keys().cloned())
                    .collect(),
                _ => nested.keys().cloned().collect(),
            };
            assert!(!keys.is_empty(), "{table} has no keys");
            for key in keys {
                let dotted = format!("`{table}.{key}`");
                assert!(
                    docs.contains(&dotted),
                    "docs/configuration.md lacks {dotted}"
                );
                assert!(
                    example_text.contains(&format!("{key} =")),
                    "example config lacks {table}.{key}"
                );
            }
            assert!(
                example_text.contains(&format!("[{table}"))
                    || example_text.contains(&format!("# [{table}")),
                "example config lacks [{table}]"
            );
        }
        for key in all_keys
            .keys()
            .filter(|key| !FILE_ONLY_TABLES.contains(&key.as_str()))
        {
            assert!(
                docs.contains(&format!("`{key}`")),
                "docs/configuration.md lacks `{key}`"
            );
            let commented = example_text.contains(&format!("# {key} ="));
            assert!(
                example_table.contains_key(key) || commented,
                "example config lacks {key}"
            );
            let flag = format!("--{}", key.replace('_', "-"));
            assert!(docs.contains(&flag), "docs/configuration.md lacks {flag}");
        }
    }
}
