//! The batching writer: a bounded queue in front of ClickHouse.
//!
//! Receivers hand over whole requests' rows with [`BatchWriter::try_submit`],
//! which reserves room in the queue or refuses at once (the receiver then
//! answers "retry later"). A single task per table gathers rows into a batch
//! and writes it when it holds `batch_max_rows` rows or its first row has
//! waited `batch_max_age`. Failed writes are retried with backoff when the
//! error is transient; data errors are not retried. Room in the queue is
//! given back only once a batch is written (or given up), so a slow or
//! unreachable ClickHouse turns into backpressure, not memory growth.
//!
//! The queue is bounded in rows per table and, over every table together,
//! in bytes ([`WriteQueue`]), where each project may hold only its share.
//!
//! Rows that come from the write-ahead log carry a [`Hold`] on their
//! record. A batch of such rows is never given up on a transient error
//! (the log bounds what waits); when the writer stops before writing
//! them, their records stay in the log for the next start.

use crate::config::WriterConfig;
use crate::metrics::{TableLabels, WriteErrorLabels, WriterMetrics};
use crate::queue::{Charge, Refusal, WriteQueue};
use crate::row_bytes::{rows_bytes, RowBytes};
use crate::wal::Hold;
use clickhouse::{Client, RowOwned, RowWrite};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracehouse_model::ProjectId;

/// The queue is full, or the project holds its share of it; retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("write queue is full")]
pub struct QueueFull;

/// Room reserved in the queue: rows on the writer's, bytes on the budget.
struct Room {
    _rows: OwnedSemaphorePermit,
    _bytes: Charge,
}

/// Rows of one request together with their reserved room in the queue.
struct Submission<R> {
    rows: Vec<R>,
    _room: Room,
    /// The request's record in the write-ahead log, if it was logged.
    hold: Option<Hold>,
}

/// Room reserved in a writer's queue for one request's rows.
pub struct Reservation<R> {
    room: Room,
    writer: BatchWriter<R>,
}

impl<R> Reservation<R>
where
    R: RowOwned + RowWrite + RowBytes + Send + Sync + 'static,
{
    /// Queues `rows` in the reserved room, with the hold of their logged record.
    pub fn send(self, rows: Vec<R>, hold: Option<Hold>) -> Result<(), QueueFull> {
        if rows.is_empty() {
            return Ok(());
        }
        self.writer.update_queue_gauge();
        self.writer
            .sender
            .send(Submission {
                rows,
                _room: self.room,
                hold,
            })
            .map_err(|_| QueueFull)
    }
}

/// The sending side of a writer; cheap to clone. When every clone is
/// dropped, the writer task writes what it holds and ends.
pub struct BatchWriter<R> {
    sender: mpsc::UnboundedSender<Submission<R>>,
    room: Arc<Semaphore>,
    capacity: usize,
    queue: WriteQueue,
    table: &'static str,
    metrics: Arc<WriterMetrics>,
}

impl<R> Clone for BatchWriter<R> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            room: self.room.clone(),
            queue: self.queue.clone(),
            capacity: self.capacity,
            table: self.table,
            metrics: self.metrics.clone(),
        }
    }
}

/// The task of a writer; await it after dropping every [`BatchWriter`]
/// to be sure all accepted rows were written.
pub struct WriterHandle {
    table: &'static str,
    task: JoinHandle<()>,
}

impl WriterHandle {
    /// Waits until the writer has written (or given up on) every row.
    pub async fn finished(self) {
        if let Err(error) = self.task.await {
            tracing::error!(table = self.table, %error, "writer task failed");
        }
    }
}

impl<R> BatchWriter<R>
where
    R: RowOwned + RowWrite + RowBytes + Send + Sync + 'static,
{
    /// Starts the writer task for `table`.
    pub fn spawn(
        client: Client,
        table: &'static str,
        config: WriterConfig,
        metrics: Arc<WriterMetrics>,
    ) -> (Self, WriterHandle) {
        let capacity = config.queue_max_rows.max(1);
        // The semaphore bounds the queue; the channel itself need not.
        let (sender, receiver) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(capacity));
        let writer = Self {
            sender,
            room: room.clone(),
            capacity,
            queue: config.queue.clone(),
            table,
            metrics: metrics.clone(),
        };
        // Shared, so that a writer started again after a panic keeps the queue.
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let states = metrics.states.clone();
        let task = tokio::spawn(crate::supervise::supervise(table, states, move || {
            run_writer(
                client.clone(),
                table,
                config.clone(),
                metrics.clone(),
                (room.clone(), capacity, config.queue.clone()),
                receiver.clone(),
            )
        }));
        (writer, WriterHandle { table, task })
    }

    /// Queues `rows` of the default project if there is room for all of
    /// them, or refuses at once.
    pub fn try_submit(&self, rows: Vec<R>) -> Result<(), QueueFull> {
        let project = ProjectId::default_project();
        let charge = self
            .queue
            .try_charge(&project, rows_bytes(&rows))
            .map_err(|_refused| QueueFull)?;
        self.try_reserve(rows.len(), charge)
            .map_err(|_refused| QueueFull)?
            .send(rows, None)
    }

    fn permits_for(&self, rows: usize) -> u32 {
        u32::try_from(rows.min(self.capacity)).unwrap_or(u32::MAX)
    }

    /// The byte budget this writer shares with the others.
    pub fn queue(&self) -> &WriteQueue {
        &self.queue
    }

    /// Reserves room for `rows` rows, which carry `charge` on the byte
    /// budget, or refuses at once.
    pub fn try_reserve(&self, rows: usize, charge: Charge) -> Result<Reservation<R>, Refusal> {
        let permit = self
            .room
            .clone()
            .try_acquire_many_owned(self.permits_for(rows))
            .map_err(|_| Refusal::Full)?;
        Ok(self.reservation(permit, charge))
    }

    /// Reserves room for `rows` rows, waiting for it (replay at start).
    pub async fn reserve(&self, rows: usize, charge: Charge) -> Result<Reservation<R>, Refusal> {
        let permit = self
            .room
            .clone()
            .acquire_many_owned(self.permits_for(rows))
            .await
            .map_err(|_| Refusal::Full)?;
        Ok(self.reservation(permit, charge))
    }

    fn reservation(&self, rows: OwnedSemaphorePermit, bytes: Charge) -> Reservation<R> {
        Reservation {
            room: Room {
                _rows: rows,
                _bytes: bytes,
            },
            writer: self.clone(),
        }
    }

    /// Rows queued or being written.
    pub fn queued_rows(&self) -> usize {
        self.capacity - self.room.available_permits()
    }

    /// Bytes held by the rows of every writer sharing this one's queue.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }

    fn update_queue_gauge(&self) {
        set_queue_gauges(&self.metrics, self.table, self.queued_rows(), &self.queue);
    }
}

fn set_queue_gauges(metrics: &WriterMetrics, table: &'static str, rows: usize, queue: &WriteQueue) {
    metrics
        .queue_rows
        .get_or_create(&TableLabels { table })
        .set(i64::try_from(rows).unwrap_or(i64::MAX));
    metrics
        .queue_bytes
        .set(i64::try_from(queue.bytes()).unwrap_or(i64::MAX));
}

async fn run_writer<R>(
    client: Client,
    table: &'static str,
    config: WriterConfig,
    metrics: Arc<WriterMetrics>,
    (room, capacity, queue): (Arc<Semaphore>, usize, WriteQueue),
    receiver: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Submission<R>>>>,
) where
    R: RowOwned + RowWrite + Send + Sync + 'static,
{
    let mut receiver = receiver.lock().await;
    let mut batch: Vec<Submission<R>> = Vec::new();
    let mut batch_rows = 0usize;
    let mut batch_deadline: Option<tokio::time::Instant> = None;
    loop {
        let received = match batch_deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(received) => received,
                Err(_elapsed) => {
                    write_batch(
                        &client,
                        table,
                        &config,
                        &metrics,
                        std::mem::take(&mut batch),
                    )
                    .await;
                    batch_rows = 0;
                    batch_deadline = None;
                    set_queue_gauges(&metrics, table, capacity - room.available_permits(), &queue);
                    continue;
                }
            },
            None => receiver.recv().await,
        };
        let Some(submission) = received else {
            // Every sender is gone: write what is left and stop.
            write_batch(
                &client,
                table,
                &config,
                &metrics,
                std::mem::take(&mut batch),
            )
            .await;
            set_queue_gauges(&metrics, table, capacity - room.available_permits(), &queue);
            return;
        };
        // The age limit counts from the first row of a batch.
        batch_deadline.get_or_insert_with(|| tokio::time::Instant::now() + config.batch_max_age);
        batch_rows += submission.rows.len();
        batch.push(submission);
        if batch_rows >= config.batch_max_rows {
            write_batch(
                &client,
                table,
                &config,
                &metrics,
                std::mem::take(&mut batch),
            )
            .await;
            batch_rows = 0;
            batch_deadline = None;
            set_queue_gauges(&metrics, table, capacity - room.available_permits(), &queue);
        }
    }
}

/// Writes one batch, retrying transient errors. The submissions (and with
/// them their room in the queue) are released when this returns.
async fn write_batch<R>(
    client: &Client,
    table: &'static str,
    config: &WriterConfig,
    metrics: &WriterMetrics,
    batch: Vec<Submission<R>>,
) where
    R: RowOwned + RowWrite + Send + Sync + 'static,
{
    let row_count: usize = batch.iter().map(|submission| submission.rows.len()).sum();
    if row_count == 0 {
        return;
    }
    let labels = TableLabels { table };
    let started = Instant::now();
    let mut backoff = config.retry_initial_backoff;
    loop {
        match insert_rows(client, table, &batch).await {
            Ok(()) => {
                release_holds(batch);
                metrics
                    .rows_written
                    .get_or_create(&labels)
                    .inc_by(row_count as u64);
                metrics
                    .flush_seconds
                    .get_or_create(&labels)
                    .observe(started.elapsed().as_secs_f64());
                return;
            }
            Err(error) => {
                let retryable = is_retryable(&error);
                metrics
                    .write_errors
                    .get_or_create(&WriteErrorLabels {
                        table,
                        kind: if retryable { "retryable" } else { "fatal" },
                    })
                    .inc();
                let logged = batch.iter().all(|submission| submission.hold.is_some());
                let give_up = !logged && started.elapsed() >= config.retry_give_up_after;
                if !retryable || give_up {
                    tracing::error!(table, rows = row_count, %error, retryable, "dropping batch after failed write");
                    metrics
                        .rows_dropped
                        .get_or_create(&labels)
                        .inc_by(row_count as u64);
                    if !retryable {
                        // Bad data stays bad: replaying it would fail again.
                        release_holds(batch);
                    }
                    return;
                }
                tracing::warn!(table, rows = row_count, %error, backoff_ms = backoff.as_millis() as u64, "write failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.retry_max_backoff);
            }
        }
    }
}

/// The batch's part of each logged record is finished.
fn release_holds<R>(batch: Vec<Submission<R>>) {
    for submission in batch {
        if let Some(hold) = submission.hold {
            hold.release();
        }
    }
}

async fn insert_rows<R>(
    client: &Client,
    table: &'static str,
    batch: &[Submission<R>],
) -> clickhouse::error::Result<()>
where
    R: RowOwned + RowWrite + Send + Sync + 'static,
{
    let mut insert = client
        .insert::<R>(table)
        .await?
        .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
    for submission in batch {
        for row in &submission.rows {
            insert.write(row).await?;
        }
    }
    insert.end().await
}

/// ClickHouse error codes that mean "try again later": timeouts, overload,
/// too many parts, memory limits, network trouble between replicas.
const RETRYABLE_CODES: &[u32] = &[
    81,  // UNKNOWN_DATABASE (dropped or not yet created: an operator can fix it)
    159, // TIMEOUT_EXCEEDED
    164, // READONLY (a replica in read-only mode)
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    285, // TOO_FEW_LIVE_REPLICAS
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    497, // ACCESS_DENIED
    516, // AUTHENTICATION_FAILED
    999, // KEEPER_EXCEPTION
];

/// Whether a failed insert may succeed if tried again. Network failures and
/// timeouts may; a server error may if its code says so, or if it carries no
/// code at all (a proxy's 502, say). Wrong credentials, missing rights and a
/// missing database are retried too: an operator fixes them, and the rows
/// must not be lost meanwhile. Data errors (bad types, unknown
/// columns, parse failures) never will, so they are not retried.
pub fn is_retryable(error: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error;
    match error {
        Error::Network(_) | Error::TimedOut => true,
        Error::BadResponse(message) => match clickhouse_error_code(message) {
            Some(code) => RETRYABLE_CODES.contains(&code),
            None => true,
        },
        _ => false,
    }
}

/// The `Code: N` of a ClickHouse error message (defined in the schema crate).
pub use tracehouse_schema::error::clickhouse_error_code;

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::error::Error;

    #[test]
    fn classifies_errors() {
        assert_eq!(
            clickhouse_error_code("Code: 252, e.displayText() = DB::Exception: Too many parts"),
            Some(252)
        );
        assert_eq!(clickhouse_error_code("no code here"), None);
        assert!(is_retryable(&Error::BadResponse(
            "Code: 252. DB::Exception: Too many parts".to_owned()
        )));
        assert!(!is_retryable(&Error::BadResponse(
            "Code: 60. DB::Exception: Table x doesn't exist".to_owned()
        )));
        assert!(!is_retryable(&Error::BadResponse(
            "Code: 53, Type mismatch".to_owned()
        )));
        assert!(is_retryable(&Error::BadResponse(
            "502 Bad Gateway".to_owned()
        )));
        assert!(is_retryable(&Error::TimedOut));
        for code in [81, 192, 193, 497, 516] {
            let message = format!("Code: {code}. DB::Exception: access problem");
            assert!(is_retryable(&Error::BadResponse(message)), "{code}");
        }
        assert!(!is_retryable(&Error::NotEnoughData));
    }
}
