//! The Tracehouse demo: a simulated serverless application that sends real
//! OTLP over gRPC to any Tracehouse (it never writes to ClickHouse). It
//! first backfills the last hours with past timestamps, so that charts and
//! comparisons have something to show at once, then runs live at a steady
//! rate until its duration is up or it is stopped.

mod app;
mod metrics;
mod otlp;
mod rng;
mod workload;

pub use app::App;
pub use otlp::Batch;
pub use workload::{relabel_trace_id, span_count, Workload};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use std::time::Duration;
use tonic::transport::Channel;

/// Simulated time covered by one batch while backfilling.
const BACKFILL_STEP: Duration = Duration::from_secs(20);
/// Simulated (and real) time covered by one batch while live.
const LIVE_STEP: Duration = Duration::from_secs(1);

/// What to simulate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Orders per second at the peak of the traffic wave.
    pub rate_per_second: f64,
    /// How long to run live after the backfill; `None` runs until stopped.
    pub duration: Option<Duration>,
    /// How much history to send first.
    pub backfill: Duration,
    /// Seed of the random choices: the same seed gives the same demo.
    pub seed: u64,
    /// Ingest token sent with every request (`x-tracehouse-token`), for a
    /// receiver that requires one.
    pub ingest_token: Option<String>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            rate_per_second: 2.0,
            duration: None,
            backfill: Duration::from_secs(3 * 3600),
            seed: 42,
            ingest_token: None,
        }
    }
}

/// Why the demo stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("export failed: {0}")]
    Export(#[from] tonic::Status),
    #[error("invalid target {0:?}: use http://HOST:PORT of an OTLP/gRPC receiver")]
    Target(String),
    #[error("the ingest token is not a valid header value")]
    Token,
}

/// What was sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub spans: u64,
    pub requests: u64,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The three OTLP/gRPC clients of one target.
struct Exporter {
    traces: TraceServiceClient<Channel>,
    logs: LogsServiceClient<Channel>,
    metrics: MetricsServiceClient<Channel>,
    token: Option<tonic::metadata::AsciiMetadataValue>,
    summary: DemoSummary,
}

impl Exporter {
    async fn connect(target: &str, token: Option<&str>) -> Result<Self, DemoError> {
        let endpoint = Channel::from_shared(target.to_owned())
            .map_err(|_| DemoError::Target(target.to_owned()))?
            .connect_timeout(Duration::from_secs(10));
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| DemoError::Connect {
                target: target.to_owned(),
                source,
            })?;
        Self::on(channel, token)
    }

    fn on(channel: Channel, token: Option<&str>) -> Result<Self, DemoError> {
        let token = token
            .map(|token| token.parse().map_err(|_| DemoError::Token))
            .transpose()?;
        Ok(Self {
            traces: TraceServiceClient::new(channel.clone()),
            logs: LogsServiceClient::new(channel.clone()),
            metrics: MetricsServiceClient::new(channel),
            token,
            summary: DemoSummary::default(),
        })
    }

    /// Sends a batch, retrying "unavailable" as OTLP exporters do.
    async fn send(&mut self, batch: Batch) -> Result<(), DemoError> {
        self.summary.spans += batch.span_count() as u64;
        let (traces, logs, metrics) = batch.into_requests();
        let (trace_client, log_client, metric_client) =
            (self.traces.clone(), self.logs.clone(), self.metrics.clone());
        let token = self.token.as_ref();
        self.summary.requests += export(
            traces,
            token,
            trace_client,
            |mut client, request| async move { client.export(request).await.map(drop) },
        )
        .await?;
        self.summary.requests +=
            export(logs, token, log_client, |mut client, request| async move {
                client.export(request).await.map(drop)
            })
            .await?;
        self.summary.requests += export(
            metrics,
            token,
            metric_client,
            |mut client, request| async move { client.export(request).await.map(drop) },
        )
        .await?;
        Ok(())
    }
}

/// Sends `request` (when there is one, with `token` when given) through a
/// clone of `client`, retried; returns how many requests were sent.
async fn export<R, C, F, Fut>(
    request: Option<R>,
    token: Option<&tonic::metadata::AsciiMetadataValue>,
    client: C,
    send: F,
) -> Result<u64, DemoError>
where
    R: Clone,
    C: Clone,
    F: Fn(C, tonic::Request<R>) -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let Some(request) = request else {
        return Ok(0);
    };
    let with_token = || {
        let mut request = tonic::Request::new(request.clone());
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("x-tracehouse-token", token.clone());
        }
        request
    };
    retry(|| send(client.clone(), with_token())).await?;
    Ok(1)
}

async fn retry<F, Fut>(mut attempt: F) -> Result<(), DemoError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let mut backoff = Duration::from_millis(100);
    for _ in 0..30 {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(status) if status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(status) => return Err(status.into()),
        }
    }
    attempt().await.map_err(DemoError::from)
}

/// Runs the demo against the OTLP/gRPC receiver at `target` (`http://HOST:4317`).
pub async fn run(target: &str, options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let exporter = Exporter::connect(target, options.ingest_token.as_deref()).await?;
    run_with(exporter, options).await
}

/// [`run`] on a channel made elsewhere (over TLS, say).
pub async fn run_on(channel: Channel, options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let exporter = Exporter::on(channel, options.ingest_token.as_deref())?;
    run_with(exporter, options).await
}

async fn run_with(mut exporter: Exporter, options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let start = tracehouse_model::time::now_unix_nano();
    let backfill_from = start.saturating_sub(nanos(options.backfill));
    // The deploy lands in the backfilled history, so the comparison has both sides.
    let deploy_at = backfill_from + nanos(options.backfill) * 2 / 3;
    let mut app = App::new(options.seed, deploy_at);
    let mut from = backfill_from;
    while from < start {
        let to = (from + nanos(BACKFILL_STEP)).min(start);
        exporter
            .send(app.step(from, to, options.rate_per_second))
            .await?;
        from = to;
    }
    tracing::info!(
        spans = exporter.summary.spans,
        "demo history sent; running live"
    );
    let until = options.duration.map(|duration| start + nanos(duration));
    let mut ticker = tokio::time::interval(LIVE_STEP);
    loop {
        ticker.tick().await;
        let to = tracehouse_model::time::now_unix_nano();
        if until.is_some_and(|until| from >= until) {
            return Ok(exporter.summary);
        }
        exporter
            .send(app.step(from, to, options.rate_per_second))
            .await?;
        from = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_history_has_every_function_and_the_deploy() {
        let hour = 3600 * 1_000_000_000u64;
        let from = 1_764_000_000_000_000_000u64;
        let mut app = App::new(7, from + hour / 2);
        let mut spans = 0;
        let mut services = std::collections::BTreeSet::new();
        let mut versions = std::collections::BTreeSet::new();
        let step = 20_000_000_000u64;
        for index in 0..(hour / step) {
            let (traces, _logs, _metrics) = app
                .step(from + index * step, from + (index + 1) * step, 2.0)
                .into_requests();
            for resource in traces
                .into_iter()
                .flat_map(|request| request.resource_spans)
            {
                spans += resource
                    .scope_spans
                    .iter()
                    .map(|scope| scope.spans.len())
                    .sum::<usize>();
                let attributes = resource
                    .resource
                    .map(|resource| resource.attributes)
                    .unwrap_or_default();
                for attribute in attributes {
                    let value = format!("{:?}", attribute.value);
                    match attribute.key.as_str() {
                        "service.name" => drop(services.insert(value)),
                        "faas.version" => drop(versions.insert(value)),
                        _ => {}
                    }
                }
            }
        }
        assert!(spans > 20_000, "{spans} spans");
        assert_eq!(services.len(), 7, "{services:?}");
        assert_eq!(versions.len(), 2, "{versions:?}");
    }
}
