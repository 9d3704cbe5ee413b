//! What every OTLP signal's ingest service provides to the transports.

use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::queue::{Charge, WriteQueue};
use crate::row_bytes::RowBytes;
use crate::wal::{Hold, RecordKind, Wal, WalError};
use crate::writer::{BatchWriter, Reservation};
use bytes::Bytes;
use tracehouse_model::ProjectId;

/// Where an export request comes from.
#[derive(Debug)]
pub enum Origin {
    /// A client: refused at once when there is no room, logged before it is
    /// accepted. With the request's protobuf bytes when the transport kept
    /// them: the log stores those rather than the request encoded again.
    Client(Option<Bytes>),
    /// The write-ahead log at start: already logged; waits for room.
    Replay(Hold),
}

impl Origin {
    /// What the write-ahead log keeps of a request from here, with `wal` or not.
    pub fn to_log(&self, wal: bool) -> ToLog {
        match self {
            Origin::Client(Some(bytes)) if wal => ToLog::Received(bytes.clone()),
            Origin::Client(None) if wal => ToLog::Encoded,
            Origin::Client(_) | Origin::Replay(_) => ToLog::Nothing,
        }
    }
}

/// What the write-ahead log keeps of one request.
#[derive(Debug)]
pub enum ToLog {
    /// Nothing: there is no log, or the request comes from it.
    Nothing,
    /// The protobuf bytes the client sent.
    Received(Bytes),
    /// The request encoded (it came as JSON).
    Encoded,
}

impl ToLog {
    /// The log record's payload for `request`.
    pub fn payload<M: prost::Message>(self, request: &M) -> Option<Vec<u8>> {
        match self {
            ToLog::Nothing => None,
            ToLog::Received(bytes) => Some(Vec::from(bytes)),
            ToLog::Encoded => Some(request.encode_to_vec()),
        }
    }
}

/// What happened to an export request that was accepted, possibly in part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Items refused; zero for full success.
    pub rejected: u64,
    /// Why they were refused; empty for full success.
    pub message: String,
}

/// The signal-independent side of an OTLP receiver: decode is done by the
/// transport, this does validation, conversion and queueing.
pub trait OtlpService: Clone + Send + Sync + 'static {
    /// The export request message.
    type Request: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static;
    /// The export response message.
    type Response: prost::Message + Default + serde::Serialize + Send + 'static;
    /// `traces`, `metrics` or `logs`: the metric label and the URL path end.
    const SIGNAL: &'static str;
    /// Full gRPC service name, e.g. `opentelemetry.proto.collector.trace.v1.TraceService`.
    const GRPC_SERVICE: &'static str;

    /// Validates, converts and queues one request for `project` from a
    /// client, `received` its protobuf bytes when the transport kept them.
    fn export(
        &self,
        project: ProjectId,
        request: Self::Request,
        received: Option<Bytes>,
    ) -> impl std::future::Future<Output = Result<ExportOutcome, IngestError>> + Send {
        self.ingest(project, request, Origin::Client(received))
    }

    /// Validates, converts and queues one request for `project` from `origin`.
    fn ingest(
        &self,
        project: ProjectId,
        request: Self::Request,
        origin: Origin,
    ) -> impl std::future::Future<Output = Result<ExportOutcome, IngestError>> + Send;

    /// The OTLP response for an outcome.
    fn response(outcome: &ExportOutcome) -> Self::Response;

    /// Counters shared by all signals.
    fn metrics(&self) -> &IngestMetrics;
}

/// The outcome label of a request over the size limit.
pub const OUTCOME_TOO_LARGE: &str = "too_large";

/// The outcome label of a request without a valid ingest token.
pub const OUTCOME_UNAUTHENTICATED: &str = "unauthenticated";

/// The request outcome label for metrics.
pub fn outcome_label(result: Result<&ExportOutcome, &IngestError>) -> &'static str {
    match result {
        Ok(outcome) if outcome.rejected == 0 => "ok",
        Ok(_) => "partial",
        Err(
            IngestError::InvalidPayload(_)
            | IngestError::UnsupportedMediaType(_)
            | IngestError::UnsupportedEncoding(_),
        ) => "invalid",
        Err(IngestError::PayloadTooLarge { .. }) => OUTCOME_TOO_LARGE,
        Err(IngestError::BodyTimeout { .. }) => "timeout",
        Err(IngestError::Saturated | IngestError::ShuttingDown) => "saturated",
        Err(IngestError::Unauthenticated(_)) => OUTCOME_UNAUTHENTICATED,
        Err(IngestError::Internal(_)) => "error",
    }
}

/// Requests with more items than this are converted on the blocking pool,
/// so that a big request does not stall the async workers.
pub const CONVERT_OFF_RUNTIME_ITEMS: u64 = 2_000;

/// Counts `received` items of `signal`, then runs `convert`: inline for
/// small requests, on the blocking pool for large ones.
pub async fn receive_and_convert<T: Send + 'static>(
    metrics: &IngestMetrics,
    signal: &'static str,
    received: u64,
    convert: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IngestError> {
    metrics
        .received
        .get_or_create(&crate::metrics::SignalLabels { signal })
        .inc_by(received);
    if received <= CONVERT_OFF_RUNTIME_ITEMS {
        return Ok(convert());
    }
    tokio::task::spawn_blocking(convert)
        .await
        .map_err(|error| IngestError::Internal(format!("{signal} conversion task failed: {error}")))
}

/// What one reservation is for: the signal counted, the request's project
/// and how many of its items a refusal counts as refused.
pub struct ReserveFor<'a> {
    pub signal: &'static str,
    pub project: &'a ProjectId,
    pub counted: u64,
}

/// Charges a request's `bytes` to its project on `queue`: a client's
/// request is refused at once when the queue is full or its project holds
/// its share (its items are counted as refused, by reason), a replayed one
/// waits. Charged once per request, then split between its writers.
pub async fn charge_or_refuse(
    queue: &WriteQueue,
    metrics: &IngestMetrics,
    what: &ReserveFor<'_>,
    bytes: usize,
    origin: &Origin,
) -> Result<Charge, IngestError> {
    match origin {
        Origin::Client(_) => queue.try_charge(what.project, bytes).map_err(|refusal| {
            metrics.reject(what.signal, refusal.reason(), what.counted);
            IngestError::Saturated
        }),
        Origin::Replay(_) => Ok(queue.charge(what.project, bytes).await),
    }
}

/// Reserves room for `rows` rows on `writer`, carrying `charge`: a client's
/// request is refused at once when there is none (its items are counted as
/// refused), a replayed one waits.
pub async fn reserve_or_refuse<R>(
    writer: &BatchWriter<R>,
    metrics: &IngestMetrics,
    what: &ReserveFor<'_>,
    rows: usize,
    (charge, origin): (Charge, &Origin),
) -> Result<Reservation<R>, IngestError>
where
    R: clickhouse::RowOwned + clickhouse::RowWrite + RowBytes + Send + Sync + 'static,
{
    let reserved = match origin {
        Origin::Client(_) => writer.try_reserve(rows, charge),
        Origin::Replay(_) => writer.reserve(rows, charge).await,
    };
    reserved.map_err(|refusal| {
        metrics.reject(what.signal, refusal.reason(), what.counted);
        IngestError::Saturated
    })
}

/// What one request's rows carry: the hold of its record in the log.
/// A client's request is appended to `wal` first (when there is one): only
/// then may the receiver answer success.
pub async fn log_request(
    wal: Option<&Wal>,
    origin: Origin,
    record: (RecordKind, &ProjectId, Option<Vec<u8>>),
    metrics: &IngestMetrics,
    signal: &'static str,
    counted: u64,
) -> Result<Option<Hold>, IngestError> {
    let (kind, project, payload) = record;
    let (Origin::Client(_), Some(wal), Some(payload)) = (&origin, wal, payload) else {
        return Ok(match origin {
            Origin::Replay(hold) => Some(hold),
            Origin::Client(_) => None,
        });
    };
    wal.append(kind, project.as_str(), payload)
        .await
        .map(Some)
        .map_err(|error| {
            let reason = match error {
                WalError::Full => "wal_full",
                _ => "wal_unavailable",
            };
            metrics.reject(signal, reason, counted);
            IngestError::Saturated
        })
}

/// Sends rows into their reserved room, each submission with its own share
/// of the record's hold; fails only when the writer has stopped.
pub fn send_reserved<R>(
    reservation: Reservation<R>,
    rows: Vec<R>,
    hold: Option<&Hold>,
) -> Result<(), IngestError>
where
    R: clickhouse::RowOwned + clickhouse::RowWrite + RowBytes + Send + Sync + 'static,
{
    reservation
        .send(rows, hold.map(Hold::share))
        .map_err(|_stopped| IngestError::ShuttingDown)
}

/// Every part of the request is queued: the request's own claim on its record ends.
pub fn request_queued(hold: Option<Hold>) {
    if let Some(hold) = hold {
        hold.release();
    }
}
