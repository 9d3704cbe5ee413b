//! A ClickHouse server that Tracehouse starts, owns and stops ("managed mode").
//!
//! The server keeps everything under `<data_dir>/clickhouse`, listens on
//! loopback on free ports, writes no query or part logs, and caps its own
//! log files. It is started from a supervisor thread that lives as long as
//! the server; the child asks the kernel for SIGTERM when that thread dies,
//! so a killed Tracehouse does not leave a server behind. Should one still be
//! running on the data directory (from an older build, say), its pid file is
//! used to stop it before a new one starts. A server that dies while
//! Tracehouse runs is started again by the supervisor, with backoff; the
//! writers retry meanwhile, and the write-ahead log keeps what was accepted.

use crate::connection::ClickHouseSettings;
use crate::error::SchemaError;
use crate::managed_users::{write_private, ManagedCredentials};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the server may take to answer after starting.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// First wait before restarting a server that died; doubles up to the next.
const RESTART_BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// Longest wait before restarting a server that died.
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Queries the reader (the query side) may run at once; the writer is not
/// limited. A page runs its reads at once (up to about ten) and
/// `query_max_concurrency` pages are served together, with the alert
/// evaluation beside them: room for all of them, each query on one thread.
const READER_MAX_CONCURRENT_QUERIES: u32 = 32;
/// The reader's query priority: the writer's is 1 (the highest), so that
/// while an insert runs ClickHouse pauses the reader's queries between blocks.
const READER_PRIORITY: u32 = 10;
/// Threads each of the reader's queries may use: dashboards' queries are
/// small, and one thread each leaves the other cores to the inserts.
const READER_MAX_THREADS: u32 = 1;

/// Settings of a managed server.
#[derive(Debug, Clone)]
pub struct ManagedOptions {
    /// Directory that holds the server's data, config and logs.
    pub directory: PathBuf,
    /// Server binary; found on PATH when `None`.
    pub binary: Option<PathBuf>,
    /// Memory a single query may use, in bytes.
    pub max_query_memory_bytes: u64,
    /// The server's time zone (`UTC`; tests try others).
    pub timezone: String,
}

impl ManagedOptions {
    /// Defaults sized for a small machine, in `directory`.
    pub fn in_directory(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            binary: None,
            max_query_memory_bytes: 2 * 1024 * 1024 * 1024,
            timezone: "UTC".to_owned(),
        }
    }
}

/// A running managed server. Stopping it (or dropping it) shuts it down.
pub struct ManagedClickHouse {
    http_port: u16,
    directory: PathBuf,
    stop_sender: Option<mpsc::Sender<()>>,
    supervisor: Option<JoinHandle<()>>,
    credentials: ManagedCredentials,
}

/// The binary to run and the arguments that make it a server.
#[derive(Debug, Clone)]
struct ServerBinary {
    path: PathBuf,
    /// `clickhouse` single binaries take `server` as their first argument.
    leading_args: Vec<&'static str>,
}

impl ManagedClickHouse {
    /// Starts a server and waits until it answers queries.
    pub async fn start(options: ManagedOptions) -> Result<Self, SchemaError> {
        let binary = match &options.binary {
            Some(path) if path.is_file() => ServerBinary::from_path(path.clone()),
            Some(path) => return Err(SchemaError::ClickHouseBinaryMissing(path.clone())),
            None => find_server_binary().ok_or(SchemaError::ClickHouseNotFound)?,
        };
        create_dir(&options.directory)?;
        // Absolute, because the server runs with the directory as its working
        // directory and would resolve a relative config path against it.
        let directory = options
            .directory
            .canonicalize()
            .map_err(|source| SchemaError::Io {
                action: "resolve directory",
                path: options.directory.clone(),
                source,
            })?;
        create_dir(&directory.join("log"))?;
        let credentials = ManagedCredentials::load_or_create(&directory)?;
        stop_leftover_server(&directory).await;

        // A free port can be taken by someone else before the server binds
        // it; try again with new ports rather than fail.
        let mut last_error = None;
        for _attempt in 0..3 {
            let ports = (free_port()?, free_port()?);
            write_configs(&directory, ports, &options, &credentials)?;
            match Self::spawn_and_wait(&binary, &directory, ports.0, credentials.clone()).await {
                Ok(server) => return Ok(server),
                Err(error) => {
                    tracing::warn!(%error, "managed clickhouse did not start, retrying");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| SchemaError::Managed("did not start".to_owned())))
    }

    async fn spawn_and_wait(
        binary: &ServerBinary,
        directory: &Path,
        http_port: u16,
        credentials: ManagedCredentials,
    ) -> Result<Self, SchemaError> {
        let (stop_sender, stop_receiver) = mpsc::channel::<()>();
        let (spawned_sender, spawned_receiver) = tokio::sync::oneshot::channel();
        let (exited_sender, mut exited_receiver) = tokio::sync::oneshot::channel::<String>();
        let command = server_command(binary, directory)?;
        let pid_path = pid_file(directory);
        let supervisor = std::thread::Builder::new()
            .name("clickhouse-supervisor".to_owned())
            .spawn(move || {
                supervise(
                    command,
                    pid_path,
                    spawned_sender,
                    stop_receiver,
                    exited_sender,
                )
            })
            .map_err(|error| {
                SchemaError::Managed(format!("cannot start supervisor thread: {error}"))
            })?;
        let mut server = Self {
            http_port,
            directory: directory.to_owned(),
            stop_sender: Some(stop_sender),
            supervisor: Some(supervisor),
            credentials,
        };
        match spawned_receiver.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return Err(SchemaError::Managed(format!(
                    "cannot run {}: {error}",
                    binary.path.display()
                )))
            }
            Err(_) => {
                return Err(SchemaError::Managed(
                    "supervisor thread ended early".to_owned(),
                ))
            }
        }

        let client = server.settings("default").server_client();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(status) = exited_receiver.try_recv() {
                server.stop_sender = None;
                return Err(SchemaError::Managed(format!(
                    "server exited during startup ({status}); see {}",
                    directory.join("log").display()
                )));
            }
            if client.query("SELECT 1").execute().await.is_ok() {
                tracing::info!(port = http_port, directory = %directory.display(), "managed clickhouse is up");
                return Ok(server);
            }
            if Instant::now() > deadline {
                server.shutdown();
                return Err(SchemaError::Managed(format!(
                    "server did not answer within {} s; see {}",
                    STARTUP_TIMEOUT.as_secs(),
                    directory.join("log").display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The HTTP URL of the server.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The writer's connection settings for `database` on this server:
    /// inserts, migrations, creating databases.
    pub fn settings(&self, database: &str) -> ClickHouseSettings {
        self.credentials.writer(self.url(), database)
    }

    /// The read-only user's settings for `database`: the query side.
    pub fn reader_settings(&self, database: &str) -> ClickHouseSettings {
        self.credentials.reader(self.url(), database)
    }

    /// The directory the server keeps its files in.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Stops the server gracefully and waits for it (blocking, bounded).
    pub fn shutdown(&mut self) {
        // Dropping the sender tells the supervisor to stop the server.
        self.stop_sender = None;
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.join();
        }
    }
}

impl Drop for ManagedClickHouse {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl ServerBinary {
    fn from_path(path: PathBuf) -> Self {
        let is_single_binary = path.file_name().is_some_and(|name| name == "clickhouse");
        Self {
            path,
            leading_args: if is_single_binary {
                vec!["server"]
            } else {
                vec![]
            },
        }
    }
}

/// `clickhouse-server` or a `clickhouse` single binary on PATH (or in
/// `/usr/sbin`, where Debian puts the server but some PATHs do not reach).
fn find_server_binary() -> Option<ServerBinary> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let fallback_dirs = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")];
    for name in ["clickhouse-server", "clickhouse"] {
        for dir in path_dirs.iter().chain(fallback_dirs.iter()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(ServerBinary::from_path(candidate));
            }
        }
    }
    None
}

fn server_command(binary: &ServerBinary, directory: &Path) -> Result<Command, SchemaError> {
    let log_dir = directory.join("log");
    let stdout = open_log(&log_dir.join("stdout.log"))?;
    let stderr = open_log(&log_dir.join("stderr.log"))?;
    let mut command = Command::new(&binary.path);
    command
        .args(&binary.leading_args)
        .arg(format!(
            "--config-file={}",
            directory.join("config.xml").display()
        ))
        .current_dir(directory)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    ask_for_sigterm_when_parent_dies(&mut command);
    Ok(command)
}

#[allow(unsafe_code)]
fn ask_for_sigterm_when_parent_dies(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and calls only prctl(2),
    // which is async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }
}

/// Runs on the supervisor thread: spawns the server, then waits until told
/// to stop. A server that exits before it answered ends the supervisor (the
/// start reports it); one that dies later is started again, with backoff.
fn supervise(
    mut command: Command,
    pid_path: PathBuf,
    spawned: tokio::sync::oneshot::Sender<Result<(), std::io::Error>>,
    stop: mpsc::Receiver<()>,
    mut exited: tokio::sync::oneshot::Sender<String>,
) {
    let mut child = match spawn_server(&mut command, &pid_path) {
        Ok(child) => {
            let _ = spawned.send(Ok(()));
            child
        }
        Err(error) => {
            let _ = spawned.send(Err(error));
            return;
        }
    };
    let mut backoff = RESTART_BACKOFF_FIRST;
    loop {
        match stop.recv_timeout(Duration::from_millis(200)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                stop_child(&mut child);
                let _ = std::fs::remove_file(&pid_path);
                return;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let Ok(Some(status)) = child.try_wait() else {
                    continue;
                };
                tracing::error!(%status, "managed clickhouse exited");
                // Still starting: the start waits for this and reports it.
                exited = match exited.send(status.to_string()) {
                    Ok(()) => return,
                    Err(_started) => tokio::sync::oneshot::channel().0,
                };
                tracing::warn!(
                    backoff_ms = backoff.as_millis() as u64,
                    "restarting managed clickhouse"
                );
                if stop.recv_timeout(backoff).is_ok() {
                    let _ = std::fs::remove_file(&pid_path);
                    return;
                }
                backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
                match spawn_server(&mut command, &pid_path) {
                    Ok(restarted) => child = restarted,
                    Err(error) => tracing::error!(%error, "cannot restart managed clickhouse"),
                }
            }
        }
    }
}

/// Spawns the server and records its pid. Not every server version writes a
/// pid file of its own (18.16 does so only as a daemon), so keep one for
/// leftover detection.
fn spawn_server(command: &mut Command, pid_path: &Path) -> std::io::Result<Child> {
    let child = command.spawn()?;
    if let Err(error) = std::fs::write(pid_path, child.id().to_string()) {
        tracing::warn!(%error, path = %pid_path.display(), "cannot write pid file");
    }
    Ok(child)
}

fn stop_child(child: &mut Child) {
    let Ok(raw_pid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        return;
    };
    let _ = kill(Pid::from_raw(raw_pid), Signal::SIGTERM);
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            tracing::info!("managed clickhouse stopped");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::warn!("managed clickhouse did not stop in time, killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn pid_file(directory: &Path) -> PathBuf {
    directory.join("clickhouse-server.pid")
}

/// Stops a server left running on this directory, found by its pid file.
/// The pid is trusted only if that process is a ClickHouse server whose
/// command line names this directory's config.
async fn stop_leftover_server(directory: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file(directory)) else {
        return;
    };
    let Ok(raw_pid) = text.trim().parse::<i32>() else {
        return;
    };
    let config_path = directory.join("config.xml");
    let Ok(cmdline) = std::fs::read(format!("/proc/{raw_pid}/cmdline")) else {
        return;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains("clickhouse") || !cmdline.contains(&*config_path.to_string_lossy()) {
        return;
    }
    tracing::warn!(
        pid = raw_pid,
        "stopping a managed clickhouse left running on this data directory"
    );
    let pid = Pid::from_raw(raw_pid);
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if kill(pid, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = kill(pid, Signal::SIGKILL);
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn free_port() -> Result<u16, SchemaError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| SchemaError::Io {
        action: "bind a free port on",
        path: PathBuf::from("127.0.0.1"),
        source,
    })?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|source| SchemaError::Io {
            action: "read the port of",
            path: PathBuf::from("127.0.0.1"),
            source,
        })
}

fn create_dir(path: &Path) -> Result<(), SchemaError> {
    std::fs::create_dir_all(path).map_err(|source| SchemaError::Io {
        action: "create directory",
        path: path.to_owned(),
        source,
    })
}

fn open_log(path: &Path) -> Result<std::fs::File, SchemaError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| SchemaError::Io {
            action: "open log file",
            path: path.to_owned(),
            source,
        })
}

/// Writes `config.xml` and `users.xml` (both mode 0600) for the given ports.
fn write_configs(
    directory: &Path,
    (http_port, tcp_port): (u16, u16),
    options: &ManagedOptions,
    credentials: &ManagedCredentials,
) -> Result<(), SchemaError> {
    let directory_text = directory
        .canonicalize()
        .unwrap_or_else(|_| directory.to_owned())
        .display()
        .to_string();
    let config = CONFIG_TEMPLATE
        .replace("{dir}", &xml_escape(&directory_text))
        .replace("{http_port}", &http_port.to_string())
        .replace("{tcp_port}", &tcp_port.to_string())
        .replace("{timezone}", &xml_escape(&options.timezone));
    let users = credentials.fill_users(
        &USERS_TEMPLATE
            .replace(
                "{max_memory_usage}",
                &options.max_query_memory_bytes.to_string(),
            )
            .replace(
                "{reader_max_memory_usage}",
                &(options.max_query_memory_bytes / 2).to_string(),
            )
            .replace(
                "{reader_max_concurrent_queries}",
                &READER_MAX_CONCURRENT_QUERIES.to_string(),
            )
            .replace("{reader_priority}", &READER_PRIORITY.to_string())
            .replace("{reader_max_threads}", &READER_MAX_THREADS.to_string()),
    );
    for (name, contents) in [("config.xml", config), ("users.xml", users)] {
        write_private(&directory.join(name), &contents)?;
    }
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Server config. No `query_log`, `part_log`, `trace_log`, `metric_log` or
/// `text_log` sections: without them those system tables are not written, so
/// they cannot grow. The server's own log files rotate at 10 MB, 3 kept.
const CONFIG_TEMPLATE: &str = include_str!("../../deploy/clickhouse/managed-config.xml");
/// The writer and the read-only reader, on loopback only, with passwords.
const USERS_TEMPLATE: &str = include_str!("../../deploy/clickhouse/managed-users.xml");
