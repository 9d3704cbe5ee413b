//! `tracehouse serve`: start ClickHouse (or connect to it), migrate, then
//! run the receivers, the writer, the query API and retention until asked
//! to stop; then stop taking requests, write what was accepted, and stop
//! ClickHouse if it is ours.

use crate::config::{Config, Role};
use anyhow::Context;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracehouse_collector::grpc::GrpcReceivers;
use tracehouse_collector::http::HttpReceivers;
use tracehouse_collector::replay::ReplayTargets;
use tracehouse_collector::wal::{Hold, Record, Wal, WalConfig, WalMetrics};
use tracehouse_collector::{
    BatchWriter, IngestLimits, IngestMetrics, LogIngest, MetricIngest, SpanLimits, TraceIngest,
    WriterConfig, WriterMetrics,
};
use tracehouse_schema::lease::{Lease, LeaseOptions};
use tracehouse_schema::{ClickHouseSettings, Layout, ManagedClickHouse, ManagedOptions};

/// How often retention runs.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// Intervals that are not settings: the defaults are what `tracehouse
/// serve` uses; tests shorten them to exercise the paths. (How long a stop
/// may take is the `shutdown_timeout_secs` setting.)
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// How often retention runs.
    pub retention_interval: Duration,
    /// How the settler of invocations runs (in the process running alerts).
    pub settle: tracehouse_query::SettleOptions,
    /// How the processes of the alerts role agree on the one that works.
    pub lease: LeaseOptions,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            retention_interval: RETENTION_INTERVAL,
            settle: tracehouse_query::SettleOptions::default(),
            lease: LeaseOptions::default(),
        }
    }
}

/// The lease of alert evaluation and settling.
const ALERTS_LEASE: &str = "alerts";

/// How long an external ClickHouse may take to become reachable at startup.
const EXTERNAL_CLICKHOUSE_WAIT: Duration = Duration::from_secs(60);

/// Beats for the alerts lease under this data directory's holder id, and
/// shows in `tracehouse_alerts_lease_held` whether this process holds it.
/// Returns once the first beat has said whether it leads (at once for the
/// only candidate), or after one beat: a standby.
async fn hold_alerts_lease(
    config: &Config,
    client: &clickhouse::Client,
    options: LeaseOptions,
    registry: &mut Registry,
    servers: &mut JoinSet<anyhow::Result<()>>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<watch::Receiver<bool>> {
    let holder = crate::data_dir::holder_id(&config.data_dir)?;
    let lease = Lease::new(client.clone(), ALERTS_LEASE, holder, options);
    let (sender, leading) = watch::channel(false);
    let held =
        prometheus_client::metrics::gauge::Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    registry.register(
        "tracehouse_alerts_lease_held",
        "1 while this process holds the alerts lease: it evaluates alert rules and settles invocations",
        held.clone(),
    );
    let stop = shutdown.clone();
    servers.spawn(async move {
        lease.run(sender, stop).await;
        Ok(())
    });
    let mut watched = leading.clone();
    tokio::spawn(async move {
        loop {
            held.set(i64::from(*watched.borrow_and_update()));
            if watched.changed().await.is_err() {
                held.set(0);
                return;
            }
        }
    });
    let mut first = leading.clone();
    // Timing out means standing by; the lease task goes on beating.
    let _standing_by = tokio::time::timeout(options.beat, first.wait_for(|leads| *leads)).await;
    Ok(leading)
}

/// The addresses actually bound (ports of 0 resolved).
#[derive(Debug, Clone, Copy)]
pub struct BoundAddresses {
    /// OTLP/gRPC, when the collector role runs.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP, when the collector role runs.
    pub otlp_http: Option<SocketAddr>,
    /// Query API, dashboard, health and metrics.
    pub http: SocketAddr,
    /// Health and metrics, when they have a listener of their own.
    pub metrics: Option<SocketAddr>,
}

/// A running Tracehouse.
pub struct Running {
    /// Where it listens.
    pub addresses: BoundAddresses,
    /// Connection settings of the ClickHouse in use.
    pub clickhouse: ClickHouseSettings,
    /// Whether every listener serves TLS.
    pub serves_tls: bool,
    /// The listeners' TLS, when they serve it.
    pub tls: Option<crate::tls::Tls>,
    shutdown: watch::Sender<bool>,
    servers: JoinSet<anyhow::Result<()>>,
    writers: Vec<tracehouse_collector::WriterHandle>,
    managed: Option<ManagedClickHouse>,
    shutdown_timeout: Duration,
    /// Released last, once the managed server has stopped.
    _data_dir_lock: crate::data_dir::DataDirLock,
}

impl Running {
    /// Stops accepting requests, writes every accepted row, stops ClickHouse
    /// if managed. Servers and writers together get `shutdown_timeout`: a
    /// slow upload or a long query cannot hold the exit, and rows not
    /// written by then stay in the write-ahead log for the next start.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        let first_error =
            match tokio::time::timeout_at(deadline, join_servers(&mut self.servers)).await {
                Ok(first_error) => first_error,
                Err(_elapsed) => {
                    tracing::warn!("open connections outlived the shutdown timeout; closing them");
                    self.servers.abort_all();
                    while self.servers.join_next().await.is_some() {}
                    None
                }
            };
        // The servers held the only senders: the writers now drain and end.
        let all_written = wait_for_writers(std::mem::take(&mut self.writers));
        if tokio::time::timeout_at(deadline, all_written)
            .await
            .is_err()
        {
            tracing::error!("accepted rows were not all written within the shutdown timeout; they stay in the write-ahead log");
        }
        if let Some(mut managed) = self.managed.take() {
            tokio::task::spawn_blocking(move || managed.shutdown())
                .await
                .context("stopping managed clickhouse")?;
        }
        tracing::info!("stopped");
        first_error.map_or(Ok(()), Err)
    }
}

/// Waits for every server task; returns the first error.
async fn join_servers(servers: &mut JoinSet<anyhow::Result<()>>) -> Option<anyhow::Error> {
    let mut first_error = None;
    while let Some(result) = servers.join_next().await {
        let outcome = result
            .context("server task panicked")
            .and_then(|inner| inner);
        if let Err(error) = outcome {
            tracing::error!(error = %format!("{error:#}"), "server stopped with an error");
            first_error.get_or_insert(error);
        }
    }
    first_error
}

/// Opens the write-ahead log under the data directory, with the records an
/// earlier run left.
fn open_wal(
    config: &Config,
    registry: &mut Registry,
) -> anyhow::Result<(Wal, Vec<(Record, Hold)>)> {
    let wal_config = WalConfig {
        dir: config.data_dir.join("wal"),
        max_bytes: config.wal_max_bytes,
        sync: config.wal_sync,
    };
    let dir = wal_config.dir.display().to_string();
    let (wal, leftovers) = Wal::open(wal_config, WalMetrics::register(registry))
        .with_context(|| format!("opening the write-ahead log in {dir}"))?;
    if !leftovers.is_empty() {
        tracing::info!(records = leftovers.len(), "replaying the write-ahead log");
    }
    Ok((wal, leftovers))
}

/// Ingests an earlier run's records again, in the background: receivers
/// open at once, and the replay waits for queue room like any writer input.
fn spawn_replay(
    leftovers: Vec<(Record, Hold)>,
    traces: &TraceIngest,
    metrics: &MetricIngest,
    logs: &LogIngest,
) {
    if leftovers.is_empty() {
        return;
    }
    let (traces, metrics, logs) = (traces.clone(), metrics.clone(), logs.clone());
    tokio::spawn(async move {
        let targets = ReplayTargets {
            traces: &traces,
            metrics: &metrics,
            logs: &logs,
        };
        let replayed = tracehouse_collector::replay::replay(leftovers, targets).await;
        tracing::info!(replayed, "write-ahead log replayed");
    });
}

/// Starts every role of `config`. Returns once all listeners are bound and
/// the schema is migrated.
pub async fn serve(config: Config) -> anyhow::Result<Running> {
    serve_with_timings(config, Timings::default()).await
}

/// [`serve`] with other intervals and timeouts.
pub async fn serve_with_timings(config: Config, timings: Timings) -> anyhow::Result<Running> {
    config.validate()?;
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let access = crate::access::start(&config, shutdown_receiver.clone())?;
    let open_allowed = crate::access::check_open_dashboard(&config, &access.current())?;
    let tls = crate::tls::Tls::start(&config, shutdown_receiver.clone())?;
    let pricing = crate::serverless::pricing(&config)?;
    let data_dir_lock = crate::data_dir::claim(&config.data_dir)?;

    let layout = config.layout().map_err(anyhow::Error::msg)?;
    let (managed, clickhouse, reader) = connect_clickhouse(&config, &layout).await?;
    let client = clickhouse.writer_in(&layout).await?;
    let schema_version = tracehouse_schema::apply_migrations_in(&client, &layout)
        .await
        .context("applying schema migrations")?;
    tracing::info!(schema_version, database = %clickhouse.database, "schema is up to date");

    let mut registry = Registry::default();
    let alert_metrics = config
        .runs(Role::Alerts)
        .then(|| tracehouse_alerting::AlertMetrics::register(&mut registry));
    let mut servers = JoinSet::new();
    let mut writer_handles = Vec::new();
    let mut otlp_grpc = None;
    let mut otlp_http = None;
    let mut writer_states = tracehouse_collector::supervise::WriterStates::default();

    if config.runs(Role::Collector) {
        let ingest_metrics = IngestMetrics::register(&mut registry);
        let writer_metrics = WriterMetrics::register(&mut registry);
        writer_states = writer_metrics.states.clone();
        let writer_config = WriterConfig {
            batch_max_rows: config.batch_max_rows,
            batch_max_age: config.batch_max_age.0,
            queue_max_rows: config.queue_max_rows,
            queue: tracehouse_collector::queue::WriteQueue::new(
                config.queue_max_bytes,
                config.queue_project_share_percent,
            ),
            ..WriterConfig::default()
        };
        let (span_writer, handle) = BatchWriter::spawn(
            client.clone(),
            tracehouse_schema::tables::SPANS,
            writer_config.clone(),
            writer_metrics.clone(),
        );
        writer_handles.push(handle);
        let serverless = crate::serverless::spawn_writers(&client, &writer_config, &writer_metrics);
        writer_handles.extend(serverless.handles);
        let limits = IngestLimits {
            max_request_bytes: config.max_request_bytes,
            max_span_age: Duration::from_secs(u64::from(config.retention_days) * 24 * 3600),
            spans: SpanLimits {
                max_spans_per_request: config.max_spans_per_request,
                max_attributes_per_span: config.max_attributes_per_span,
                max_attribute_value_bytes: config.max_attribute_value_bytes,
                max_value_depth: config.max_value_depth,
                max_events_per_span: config.max_events_per_span,
                max_links_per_span: config.max_links_per_span,
            },
            max_concurrent_requests: config.max_concurrent_requests,
            body_read_timeout: config.body_read_timeout.0,
            ..IngestLimits::default()
        };
        let (wal, leftovers) = open_wal(&config, &mut registry)?;
        let traces = TraceIngest::new(
            span_writer,
            serverless.invocations,
            ingest_metrics.clone(),
            limits.clone(),
        )
        .with_wal(wal.clone());
        let metrics = MetricIngest::new(
            serverless.metric_points,
            ingest_metrics.clone(),
            limits.clone(),
        )
        .with_wal(wal.clone());
        let logs = LogIngest::new(
            serverless.logs,
            serverless.platform_reports,
            ingest_metrics,
            limits,
        )
        .with_wal(wal);
        spawn_replay(leftovers, &traces, &metrics, &logs);

        let grpc_listener = bind(config.otlp_grpc_addr, "OTLP/gRPC").await?;
        otlp_grpc = Some(grpc_listener.local_addr()?);
        let grpc_receivers = GrpcReceivers {
            traces: traces.clone(),
            metrics: metrics.clone(),
            logs: logs.clone(),
            access: access.clone(),
        };
        let stop = wait_for_shutdown(shutdown_receiver.clone());
        let grpc_listener = listen(
            grpc_listener,
            tls.as_ref(),
            crate::tls::ALPN_GRPC,
            &shutdown_receiver,
        )?;
        servers.spawn(async move {
            let served = match grpc_listener {
                Listening::Plain(listener) => {
                    tracehouse_collector::grpc::serve(listener, grpc_receivers, stop).await
                }
                Listening::Tls(listener) => {
                    let incoming = Box::pin(listener.into_stream());
                    tracehouse_collector::grpc::serve_incoming(incoming, grpc_receivers, stop).await
                }
            };
            served.context("OTLP/gRPC server")
        });

        let http_listener = bind(config.otlp_http_addr, "OTLP/HTTP").await?;
        otlp_http = Some(http_listener.local_addr()?);
        let otlp_router = tracehouse_collector::http::router(HttpReceivers {
            traces,
            metrics,
            logs,
            access: access.clone(),
        });
        crate::access::warn_about_open_ingest(
            &access.current(),
            &[
                ("OTLP/gRPC", config.otlp_grpc_addr),
                ("OTLP/HTTP", config.otlp_http_addr),
            ],
        );
        let http_listener = listen(
            http_listener,
            tls.as_ref(),
            crate::tls::ALPN_HTTP,
            &shutdown_receiver,
        )?;
        servers.spawn(serve_http(
            http_listener,
            otlp_router,
            shutdown_receiver.clone(),
            "OTLP/HTTP",
        ));
    }
    // One server: every collector prunes its own. A cluster: the one process
    // that runs alerts drops partitions on every shard.
    let runs_retention = match layout {
        Layout::SingleNode => config.runs(Role::Collector),
        Layout::Cluster(_) => config.runs(Role::Alerts),
    };
    // Settled invocations are written, and alerts evaluated, by the one
    // process of the alerts role that holds the alerts lease.
    let leading = if config.runs(Role::Alerts) {
        let leading = hold_alerts_lease(
            &config,
            &client,
            timings.lease,
            &mut registry,
            &mut servers,
            &shutdown_receiver,
        )
        .await?;
        let settler = tracehouse_query::Settler::new(client.clone(), timings.settle);
        let (shutdown, leads) = (shutdown_receiver.clone(), leading.clone());
        servers.spawn(async move {
            settler.run(leads, shutdown).await;
            Ok(())
        });
        Some(leading)
    } else {
        None
    };
    if runs_retention {
        servers.spawn(run_retention(
            client.clone(),
            layout.clone(),
            config.retention_days,
            timings.retention_interval,
            shutdown_receiver.clone(),
        ));
    }

    let http_listener = bind(config.http_addr, "HTTP").await?;
    let http = http_listener.local_addr()?;
    let dashboards =
        tracehouse_web::dashboard::declared::Dashboards::load(config.dashboards_dir.as_deref());
    dashboards.register_metrics(&mut registry);
    let query_guard = tracehouse_web::QueryGuard::register(
        &mut registry,
        config.query_timeout.0,
        config.query_max_concurrency,
    );
    let access_metrics = tracehouse_web::access::AccessMetrics::register(&mut registry);
    let registry = Arc::new(registry);
    let query_limits = config.query_limits().map_err(anyhow::Error::msg)?;
    let reader_client = reader.reader_in(&layout).await?;
    let shard_watch = match &layout {
        Layout::Cluster(cluster) => Some(crate::cluster::spawn_shard_watch(
            reader_client.clone(),
            cluster.clone(),
            shutdown_receiver.clone(),
        )),
        Layout::SingleNode => None,
    };
    let query = tracehouse_query::QueryService::new(reader_client)
        .with_limits(query_limits)
        .with_pricing(pricing)
        .with_chain_settings(
            tracehouse_query::ChainLimits {
                max_traces: config.chain_max_traces,
                max_spans: config.chain_max_spans,
            },
            tracehouse_query::BrokenChainRules {
                lost_message_wait: config.lost_message_wait.0,
                max_failed_deliveries: config.max_failed_deliveries,
            },
        );
    let alerts = match alert_metrics.zip(leading) {
        Some((metrics, leading)) => Some(crate::alerts::start(
            &config,
            query.clone().with_client(client.clone()),
            http,
            Arc::clone(&registry),
            metrics,
            leading,
            shutdown_receiver.clone(),
        )?),
        None => None,
    };
    let scheme = config.url_scheme();
    let state = tracehouse_web::AppState {
        query,
        registry,
        writers: writer_states,
        endpoints: tracehouse_web::Endpoints {
            otlp_grpc: otlp_grpc
                .map(|address| format!("{scheme}://{address}"))
                .unwrap_or_default(),
            otlp_http: otlp_http
                .map(|address| format!("{scheme}://{address}"))
                .unwrap_or_default(),
        },
        dashboards: Arc::new(dashboards),
        access: access.clone(),
    };
    let alerts_router = crate::alerts::router(&config, &client, alerts, &state);
    let health_only = tracehouse_web::health_router(state.clone());
    let web_router = if config.runs(Role::Query) {
        tracehouse_web::router(state, &query_guard)
    } else {
        tracehouse_web::health_router(state)
    };
    let web_router = match alerts_router {
        Some(alerts_router) => alerts_router.merge(web_router),
        None => web_router,
    };
    let metrics = match config.metrics_addr {
        Some(address) => {
            let listener = bind(address, "health and metrics").await?;
            let bound = listener.local_addr()?;
            let listener = listen(
                listener,
                tls.as_ref(),
                crate::tls::ALPN_HTTP,
                &shutdown_receiver,
            )?;
            servers.spawn(serve_http(
                listener,
                health_only,
                shutdown_receiver.clone(),
                "metrics",
            ));
            Some(bound)
        }
        None => None,
    };
    let openness = tracehouse_web::access::Openness {
        open_allowed,
        health_public: metrics.is_none(),
        serves_tls: tls.is_some(),
    };
    let web_router = tracehouse_web::access::protect(web_router, access, openness, access_metrics);
    let web_router = match shard_watch {
        Some(watch) => crate::cluster::mark_partial(web_router, watch),
        None => web_router,
    };
    // The query side on threads of its own, so that it cannot take the receivers'.
    let (http_listener, stop) = (http_listener.into_std()?, shutdown_receiver.clone());
    let http_tls = tls.clone();
    servers.spawn(async move {
        tracehouse_web::query_runtime::run(move || async move {
            let listener = TcpListener::from_std(http_listener)?;
            let listener = listen(listener, http_tls.as_ref(), crate::tls::ALPN_HTTP, &stop)?;
            serve_http(listener, web_router, stop, "HTTP").await
        })
        .await
        .context("starting the query threads")?
    });

    Ok(Running {
        addresses: BoundAddresses {
            otlp_grpc,
            otlp_http,
            http,
            metrics,
        },
        clickhouse,
        serves_tls: tls.is_some(),
        tls,
        shutdown,
        servers,
        writers: writer_handles,
        managed,
        shutdown_timeout: config.shutdown_timeout.0,
        _data_dir_lock: data_dir_lock,
    })
}

/// The server, the writer's settings and the query side's settings: in
/// managed mode a read-only user of its own, else the configured user.
async fn connect_clickhouse(
    config: &Config,
    layout: &Layout,
) -> anyhow::Result<(
    Option<ManagedClickHouse>,
    ClickHouseSettings,
    ClickHouseSettings,
)> {
    match &config.clickhouse_url {
        Some(url) => {
            let settings = ClickHouseSettings {
                url: url.clone(),
                user: config.clickhouse_user.clone(),
                password: config.clickhouse_password.expose().to_owned(),
                database: config.clickhouse_database.clone(),
            };
            wait_for_database(&settings, layout).await?;
            Ok((None, settings.clone(), settings))
        }
        None => {
            let options = ManagedOptions {
                binary: config.clickhouse_binary.clone(),
                ..ManagedOptions::in_directory(config.data_dir.join("clickhouse"))
            };
            let managed = ManagedClickHouse::start(options).await?;
            let settings = managed.settings(&config.clickhouse_database);
            settings.ensure_database().await?;
            let reader = managed.reader_settings(&config.clickhouse_database);
            Ok((Some(managed), settings, reader))
        }
    }
}

/// An external server may still be starting (containers, say): retry for a while.
async fn wait_for_database(settings: &ClickHouseSettings, layout: &Layout) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + EXTERNAL_CLICKHOUSE_WAIT;
    loop {
        match settings.ensure_database_in(layout).await {
            Ok(()) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                let url = crate::config::url_for_display(&settings.url);
                tracing::warn!(%error, %url, "clickhouse not reachable yet, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                let url = crate::config::url_for_display(&settings.url);
                return Err(error).context(format!("connecting to clickhouse at {url}"));
            }
        }
    }
}

async fn bind(address: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for {what} on {address}"))
}

async fn wait_for_shutdown(mut receiver: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = receiver.wait_for(|stop| *stop).await;
}

/// A bound listener, with TLS when the certificate files are set.
enum Listening {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

fn listen(
    listener: TcpListener,
    tls: Option<&crate::tls::Tls>,
    alpn: &[&[u8]],
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Listening> {
    let Some(tls) = tls else {
        return Ok(Listening::Plain(listener));
    };
    let listener = crate::tls::TlsListener::new(listener, tls.acceptor(alpn)?, shutdown.clone())?;
    Ok(Listening::Tls(listener))
}

/// Serves `router` on `listener`, each request knowing its peer's address
/// (`ConnectInfo<SocketAddr>`), until `shutdown`.
async fn serve_http(
    listener: Listening,
    router: axum::Router,
    shutdown: watch::Receiver<bool>,
    what: &'static str,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let stop = wait_for_shutdown(shutdown);
    let served = match listener {
        Listening::Plain(listener) => {
            axum::serve(listener, service)
                .with_graceful_shutdown(stop)
                .await
        }
        // tap_io: the wrapper axum gives a peer address for any listener.
        Listening::Tls(listener) => {
            axum::serve(listener.tap_io(|_| {}), service)
                .with_graceful_shutdown(stop)
                .await
        }
    };
    served.with_context(|| format!("{what} server"))
}

async fn run_retention(
    client: clickhouse::Client,
    layout: Layout,
    retention_days: u32,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        match tracehouse_schema::retention::drop_expired_partitions_in(
            &client,
            &layout,
            retention_days,
        )
        .await
        {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::info!(count = dropped.len(), "retention dropped partitions")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention failed, will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}

/// Waits for every writer in turn (each drains independently).
async fn wait_for_writers(writers: Vec<tracehouse_collector::WriterHandle>) {
    for writer in writers {
        writer.finished().await;
    }
}
