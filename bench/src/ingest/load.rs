//! The load: requests of the simulator's workload sent over OTLP/gRPC or
//! OTLP/HTTP protobuf by a few concurrent exporters until a deadline, each
//! retrying "unavailable" with backoff as OTLP exporters do.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracehouse_simulator::Workload;

const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// How requests travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    HttpProtobuf,
}

/// What the exporters got done.
#[derive(Debug, Clone, Copy)]
pub struct LoadResult {
    pub started: Instant,
    pub acknowledged_spans: u64,
    pub requests: u64,
    /// Answers that asked to retry later (503 / `UNAVAILABLE`).
    pub refused: u64,
    pub acknowledged_seconds: f64,
}

/// Sends the workload to `endpoint` (`http://HOST:PORT`, the path is added
/// for HTTP) from `streams` exporters until `duration` has passed.
pub async fn drive(
    transport: Transport,
    endpoint: &str,
    workload: Arc<Workload>,
    streams: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..streams.max(1) {
        let exporter = Exporter::connect(transport, endpoint).await?;
        let (workload, next) = (workload.clone(), next.clone());
        tasks.push(tokio::spawn(exporter.run(workload, next, deadline)));
    }
    let mut result = LoadResult {
        started,
        acknowledged_spans: 0,
        requests: 0,
        refused: 0,
        acknowledged_seconds: 0.0,
    };
    for task in tasks {
        let (spans, requests, refused) = task.await??;
        result.acknowledged_spans += spans;
        result.requests += requests;
        result.refused += refused;
    }
    result.acknowledged_seconds = started.elapsed().as_secs_f64();
    Ok(result)
}

/// One exporter: its own connection.
enum Exporter {
    Grpc(TraceServiceClient<tonic::transport::Channel>),
    Http(reqwest::Client, String),
}

/// Whether an attempt was answered with success or "retry later".
enum Answer {
    Accepted,
    RetryLater,
}

impl Exporter {
    async fn connect(transport: Transport, endpoint: &str) -> anyhow::Result<Self> {
        Ok(match transport {
            Transport::Grpc => {
                let client = TraceServiceClient::connect(endpoint.to_owned()).await?;
                Self::Grpc(client.max_decoding_message_size(64 * 1024 * 1024))
            }
            Transport::HttpProtobuf => Self::Http(
                reqwest::Client::new(),
                format!("{}/v1/traces", endpoint.trim_end_matches('/')),
            ),
        })
    }

    /// Sends requests until the deadline; returns spans acknowledged,
    /// requests sent and refusals.
    async fn run(
        mut self,
        workload: Arc<Workload>,
        next: Arc<AtomicU64>,
        deadline: Instant,
    ) -> anyhow::Result<(u64, u64, u64)> {
        let (mut spans, mut requests, mut refused) = (0, 0, 0);
        while Instant::now() < deadline {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let request = workload
                .request(index)
                .ok_or_else(|| anyhow::anyhow!("the workload is empty"))?;
            let mut backoff = FIRST_BACKOFF;
            while let Answer::RetryLater = self.send(&request).await? {
                refused += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            spans += workload.spans_in(index);
            requests += 1;
        }
        Ok((spans, requests, refused))
    }

    async fn send(
        &mut self,
        request: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    ) -> anyhow::Result<Answer> {
        match self {
            Self::Grpc(client) => match client.export(request.clone()).await {
                Ok(_) => Ok(Answer::Accepted),
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                    ) =>
                {
                    Ok(Answer::RetryLater)
                }
                Err(status) => anyhow::bail!("export failed: {status}"),
            },
            Self::Http(client, url) => {
                let response = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf")
                    .body(request.encode_to_vec())
                    .send()
                    .await?;
                let status = response.status();
                if status.is_success() {
                    return Ok(Answer::Accepted);
                }
                if status.as_u16() == 503 || status.as_u16() == 429 {
                    return Ok(Answer::RetryLater);
                }
                anyhow::bail!("export failed: {status}: {}", response.text().await?)
            }
        }
    }
}
