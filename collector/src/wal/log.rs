//! Segment files, group commit, trimming and the byte bound.

use super::record::{self, Record, RecordKind};
use super::tracker::{Hold, Tracker};
use super::{WalError, WalMetrics};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A segment is closed and a new one started once it holds this many bytes.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// One group commit writes at most this many bytes before its fsync.
const GROUP_BYTES: usize = 8 * 1024 * 1024;
/// How often an idle log looks for segments to trim.
const IDLE_TICK: Duration = Duration::from_millis(500);

/// When appends reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalSync {
    /// fsync each group of appends before answering: survives a machine crash.
    Fsync,
    /// Write to the file without fsync: survives a crash of Tracehouse, not of the machine.
    Write,
}

impl std::fmt::Display for WalSync {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Fsync => "fsync",
            Self::Write => "write",
        })
    }
}

impl std::str::FromStr for WalSync {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "fsync" => Ok(Self::Fsync),
            "write" => Ok(Self::Write),
            other => Err(format!("{other:?} is not fsync or write")),
        }
    }
}

/// Where the log lives and how large it may grow.
#[derive(Debug, Clone)]
pub struct WalConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub sync: WalSync,
}

struct Append {
    kind: RecordKind,
    project: String,
    payload: Vec<u8>,
    reply: oneshot::Sender<Result<Hold, WalError>>,
}

/// Default bound of the log's size.
pub const DEFAULT_WAL_MAX_BYTES: u64 = 1 << 30;

/// The appending side of the log; cheap to clone.
#[derive(Clone)]
pub struct Wal {
    sender: mpsc::Sender<Append>,
}

impl Wal {
    /// Opens the log in `config.dir`, creating it if needed, and returns the
    /// records left from an earlier run (each with its hold), in order.
    pub fn open(
        config: WalConfig,
        metrics: Arc<WalMetrics>,
    ) -> Result<(Self, Vec<(Record, Hold)>), WalError> {
        std::fs::create_dir_all(&config.dir)?;
        let tracker = Tracker::default();
        let (segments, records) = read_segments(&config.dir, &metrics)?;
        let next_seq = records.last().map_or(1, |record| record.seq + 1);
        let replay: Vec<(Record, Hold)> = records
            .into_iter()
            .map(|record| {
                let hold = tracker.hold(record.seq);
                (record, hold)
            })
            .collect();
        metrics.replayed.inc_by(replay.len() as u64);
        let mut appender = Appender::start(config, metrics, tracker, segments, next_seq)?;
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("tracehouse-wal".to_owned())
            .spawn(move || appender.run(&receiver))?;
        Ok((Self { sender }, replay))
    }

    /// Appends one request; returns once it is durable (per the sync policy),
    /// with the hold that keeps it in the log until its rows are written.
    pub async fn append(
        &self,
        kind: RecordKind,
        project: &str,
        payload: Vec<u8>,
    ) -> Result<Hold, WalError> {
        let (reply, answer) = oneshot::channel();
        let append = Append {
            kind,
            project: project.to_owned(),
            payload,
            reply,
        };
        self.sender.send(append).map_err(|_| WalError::Closed)?;
        answer.await.map_err(|_| WalError::Closed)?
    }
}

/// A closed segment file.
struct Segment {
    path: PathBuf,
    last_seq: u64,
    bytes: u64,
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.wal"))
}

/// Reads every segment in order. Damaged tails are reported, not fatal.
fn read_segments(
    dir: &Path,
    metrics: &WalMetrics,
) -> Result<(Vec<Segment>, Vec<Record>), WalError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "wal"))
        .collect();
    paths.sort();
    let mut segments = Vec::new();
    let mut records = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path)?;
        let contents = record::decode_segment(&bytes);
        if let Some(damage) = &contents.damage {
            metrics.damaged_segments.inc();
            tracing::error!(
                segment = %path.display(),
                intact_bytes = contents.intact_bytes,
                damaged_bytes = bytes.len() as u64 - contents.intact_bytes,
                %damage,
                "write-ahead log segment has a damaged tail; its intact records are kept"
            );
        }
        let last_seq = contents.records.last().map_or(0, |record| record.seq);
        records.extend(contents.records);
        segments.push(Segment {
            path,
            last_seq,
            bytes: bytes.len() as u64,
        });
    }
    Ok((segments, records))
}

/// The thread that owns the files.
struct Appender {
    config: WalConfig,
    metrics: Arc<WalMetrics>,
    tracker: Tracker,
    closed: Vec<Segment>,
    current: File,
    current_path: PathBuf,
    current_bytes: u64,
    next_seq: u64,
}

impl Appender {
    fn start(
        config: WalConfig,
        metrics: Arc<WalMetrics>,
        tracker: Tracker,
        closed: Vec<Segment>,
        next_seq: u64,
    ) -> Result<Self, WalError> {
        let current_path = segment_path(&config.dir, next_seq);
        let current = create_segment(&current_path)?;
        let appender = Self {
            config,
            metrics,
            tracker,
            closed,
            current,
            current_path,
            current_bytes: 0,
            next_seq,
        };
        appender.update_gauge();
        Ok(appender)
    }

    fn run(&mut self, receiver: &mpsc::Receiver<Append>) {
        loop {
            let first = match receiver.recv_timeout(IDLE_TICK) {
                Ok(append) => append,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.trim(true);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let mut group = vec![first];
            let mut group_bytes = group[0].payload.len();
            while group_bytes < GROUP_BYTES {
                let Ok(append) = receiver.try_recv() else {
                    break;
                };
                group_bytes += append.payload.len();
                group.push(append);
            }
            self.commit(group);
            self.trim(false);
        }
    }

    fn total_bytes(&self) -> u64 {
        self.current_bytes + self.closed.iter().map(|segment| segment.bytes).sum::<u64>()
    }

    /// Writes a group, syncs once, then answers every append in it.
    fn commit(&mut self, group: Vec<Append>) {
        let mut written = Vec::with_capacity(group.len());
        let mut failure = None;
        for append in group {
            let encoded =
                record::encode(self.next_seq, append.kind, &append.project, &append.payload);
            if self.total_bytes() + encoded.len() as u64 > self.config.max_bytes {
                self.metrics.refuse("full");
                let _ = append.reply.send(Err(WalError::Full));
                continue;
            }
            if failure.is_none() {
                if let Err(error) = self.current.write_all(&encoded) {
                    failure = Some(WalError::from(error));
                }
            }
            self.current_bytes += encoded.len() as u64;
            self.metrics.appended_bytes.inc_by(encoded.len() as u64);
            written.push((self.next_seq, append.reply));
            self.next_seq += 1;
        }
        if failure.is_none() && self.config.sync == WalSync::Fsync && !written.is_empty() {
            self.metrics.fsyncs.inc();
            failure = self.current.sync_data().err().map(WalError::from);
        }
        self.answer(written, failure);
    }

    fn answer(
        &mut self,
        written: Vec<(u64, oneshot::Sender<Result<Hold, WalError>>)>,
        failure: Option<WalError>,
    ) {
        if let Some(error) = failure {
            tracing::error!(%error, "write-ahead log append failed; clients are told to retry");
            for (_, reply) in written {
                self.metrics.refuse("io");
                let _ = reply.send(Err(error.clone()));
            }
            // What reached the file may be torn: continue in a fresh segment.
            self.rotate();
            return;
        }
        self.metrics.appended.inc_by(written.len() as u64);
        for (seq, reply) in written {
            // An append whose caller went away queued nothing: it is done at once.
            if let Err(Ok(hold)) = reply.send(Ok(self.tracker.hold(seq))) {
                hold.release();
            }
        }
        if self.current_bytes >= SEGMENT_BYTES {
            self.rotate();
        }
        self.update_gauge();
    }

    /// Closes the current segment and starts the next one.
    fn rotate(&mut self) {
        let path = segment_path(&self.config.dir, self.next_seq);
        match create_segment(&path) {
            Ok(file) => {
                let old_path = std::mem::replace(&mut self.current_path, path);
                self.closed.push(Segment {
                    path: old_path,
                    last_seq: self.next_seq - 1,
                    bytes: self.current_bytes,
                });
                self.current = file;
                self.current_bytes = 0;
            }
            Err(error) => tracing::error!(%error, "cannot start a new write-ahead log segment"),
        }
    }

    /// Deletes closed segments whose records are all done. When `idle`, the
    /// current segment is closed first if all of its records are done.
    fn trim(&mut self, idle: bool) {
        let floor = self.tracker.floor(self.next_seq);
        if idle && self.current_bytes > 0 && floor == self.next_seq {
            self.rotate();
        }
        self.closed.retain(|segment| {
            if segment.last_seq >= floor {
                return true;
            }
            match std::fs::remove_file(&segment.path) {
                Ok(()) => false,
                Err(error) => {
                    tracing::warn!(segment = %segment.path.display(), %error, "cannot delete a written write-ahead log segment");
                    true
                }
            }
        });
        self.update_gauge();
    }

    fn update_gauge(&self) {
        self.metrics
            .bytes
            .set(i64::try_from(self.total_bytes()).unwrap_or(i64::MAX));
    }
}

fn create_segment(path: &Path) -> Result<File, WalError> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    // The new file's directory entry must be durable too.
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, max_bytes: u64) -> WalConfig {
        WalConfig {
            dir: dir.to_owned(),
            max_bytes,
            sync: WalSync::Fsync,
        }
    }

    fn segment_bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(Result::ok)
            .map(|entry| entry.metadata().expect("metadata").len())
            .sum()
    }

    #[tokio::test]
    async fn records_not_done_are_replayed_in_order_after_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (wal, replay) = Wal::open(config(dir.path(), 1 << 20), Arc::default()).expect("opens");
        assert!(replay.is_empty());
        let first = wal
            .append(RecordKind::Traces, "default", b"one".to_vec())
            .await
            .expect("appends");
        let second = wal
            .append(RecordKind::Logs, "payments", b"two".to_vec())
            .await
            .expect("appends");
        assert_eq!((first.seq(), second.seq()), (1, 2));
        first.release();
        // The process "dies": the second record was never written to ClickHouse.
        drop(second);
        drop(wal);
        let metrics = Arc::new(WalMetrics::default());
        let (wal, replay) =
            Wal::open(config(dir.path(), 1 << 20), metrics.clone()).expect("reopens");
        let seqs: Vec<u64> = replay.iter().map(|(record, _)| record.seq).collect();
        assert_eq!(
            seqs,
            vec![1, 2],
            "both were still in the log: nothing trimmed the first yet"
        );
        assert_eq!(replay[1].0.payload, b"two");
        assert_eq!(replay[1].0.project, "payments");
        assert_eq!(metrics.replayed.get(), 2);
        let next = wal
            .append(RecordKind::Metrics, "default", vec![])
            .await
            .expect("appends");
        assert_eq!(
            next.seq(),
            3,
            "sequence numbers continue after the replayed ones"
        );
    }

    #[tokio::test]
    async fn done_records_are_trimmed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (wal, _) = Wal::open(config(dir.path(), 1 << 20), Arc::default()).expect("opens");
        let hold = wal
            .append(RecordKind::Traces, "default", vec![7; 1000])
            .await
            .expect("appends");
        assert!(segment_bytes(dir.path()) > 1000);
        hold.release();
        tokio::time::sleep(IDLE_TICK * 3).await;
        assert_eq!(
            segment_bytes(dir.path()),
            0,
            "the written record's segment is gone"
        );
    }

    #[tokio::test]
    async fn a_full_log_refuses_and_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let metrics = Arc::new(WalMetrics::default());
        let (wal, _) = Wal::open(config(dir.path(), 4096), metrics.clone()).expect("opens");
        let kept = wal
            .append(RecordKind::Traces, "default", vec![1; 3000])
            .await
            .expect("fits");
        let refused = wal
            .append(RecordKind::Traces, "default", vec![1; 3000])
            .await;
        assert_eq!(refused.err(), Some(WalError::Full));
        assert_eq!(
            metrics
                .refused
                .get_or_create(&super::super::metrics::RefusalLabels { reason: "full" })
                .get(),
            1
        );
        kept.release();
        tokio::time::sleep(IDLE_TICK * 3).await;
        wal.append(RecordKind::Traces, "default", vec![1; 3000])
            .await
            .expect("room again once written");
    }

    #[tokio::test]
    async fn a_torn_tail_keeps_the_intact_records_and_is_counted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (wal, _) = Wal::open(config(dir.path(), 1 << 20), Arc::default()).expect("opens");
        for payload in [b"a", b"b"] {
            drop(
                wal.append(RecordKind::Traces, "default", payload.to_vec())
                    .await
                    .expect("appends"),
            );
        }
        drop(wal);
        let segment = segment_path(dir.path(), 1);
        let length = std::fs::metadata(&segment).expect("segment").len();
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .expect("open")
            .set_len(length - 2)
            .expect("tear");
        let metrics = Arc::new(WalMetrics::default());
        let (_wal, replay) =
            Wal::open(config(dir.path(), 1 << 20), metrics.clone()).expect("reopens");
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].0.payload, b"a");
        assert_eq!(metrics.damaged_segments.get(), 1);
    }

    #[tokio::test]
    async fn many_concurrent_appends_share_fsyncs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let metrics = Arc::new(WalMetrics::default());
        let (wal, _) = Wal::open(config(dir.path(), 1 << 24), metrics.clone()).expect("opens");
        let appends = (0..200).map(|_| {
            let wal = wal.clone();
            tokio::spawn(async move {
                wal.append(RecordKind::Traces, "default", vec![0; 100])
                    .await
            })
        });
        let holds = futures::future::join_all(appends).await;
        assert!(holds.iter().all(|hold| matches!(hold, Ok(Ok(_)))));
        assert_eq!(metrics.appended.get(), 200);
        assert!(
            metrics.fsyncs.get() < 200,
            "{} fsyncs for 200 appends",
            metrics.fsyncs.get()
        );
    }
}
