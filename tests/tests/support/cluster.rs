//! A ClickHouse cluster on loopback: one ZooKeeper and two ClickHouse 18.16
//! servers, one shard each, in a temporary directory. Every process is
//! killed when the cluster is dropped. A node can be SIGKILLed and started
//! again on the same ports and data.

#![allow(dead_code)]

use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cluster's name in `remote_servers`.
pub const CLUSTER: &str = "tracehouse";
/// ZooKeeper session timeout: a killed replica rejoins once its session expired.
const SESSION_TIMEOUT_MS: u32 = 6000;
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// One ClickHouse node: its ports, directory and process.
pub struct Node {
    pub http_port: u16,
    pub tcp_port: u16,
    interserver_port: u16,
    directory: PathBuf,
    child: Option<Child>,
}

/// ZooKeeper and the nodes.
pub struct LoopbackCluster {
    _directory: tempfile::TempDir,
    zookeeper: Child,
    pub nodes: Vec<Node>,
    http: reqwest::Client,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn clickhouse_binary() -> anyhow::Result<PathBuf> {
    ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .context("clickhouse-server is not installed (scripts/lib.sh installs it)")
}

impl LoopbackCluster {
    /// Starts ZooKeeper and `nodes` ClickHouse servers, one shard each, and
    /// waits until every node reaches ZooKeeper.
    pub async fn start(nodes: usize) -> anyhow::Result<Self> {
        let directory = tempfile::Builder::new()
            .prefix("tracehouse-cluster-")
            .tempdir()?;
        let zookeeper_port = free_port()?;
        let zookeeper = start_zookeeper(directory.path(), zookeeper_port)?;
        wait_for_zookeeper(zookeeper_port)?;
        let mut all = Vec::new();
        for index in 0..nodes {
            all.push(Node {
                http_port: free_port()?,
                tcp_port: free_port()?,
                interserver_port: free_port()?,
                directory: directory.path().join(format!("node{}", index + 1)),
                child: None,
            });
        }
        let shards = remote_servers(&all);
        for (index, node) in all.iter().enumerate() {
            write_node_config(node, index, &shards, zookeeper_port)?;
        }
        let mut cluster = Self {
            _directory: directory,
            zookeeper,
            nodes: all,
            http: reqwest::Client::new(),
        };
        for index in 0..nodes {
            cluster.spawn(index)?;
        }
        for index in 0..nodes {
            cluster.wait_ready(index).await?;
        }
        Ok(cluster)
    }

    /// `http://127.0.0.1:port` of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[index].http_port)
    }

    fn spawn(&mut self, index: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[index];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.directory.join("stderr.log"))?;
        let child = Command::new(clickhouse_binary()?)
            .arg(format!(
                "--config-file={}",
                node.directory.join("config.xml").display()
            ))
            .current_dir(&node.directory)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting clickhouse-server")?;
        node.child = Some(child);
        Ok(())
    }

    /// Answers `sql` on node `index` (HTTP), or the server's error.
    pub async fn query(&self, index: usize, sql: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(self.url(index))
            .body(sql.to_owned())
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("node {index}: {status}: {text}");
        }
        Ok(text)
    }

    /// Waits until node `index` answers and reaches ZooKeeper (`/ping` is
    /// not enough: distributed DDL needs the session). A node that died at
    /// once (a port still held after a kill) is started again.
    pub async fn wait_ready(&mut self, index: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let probe = "SELECT count() FROM system.zookeeper WHERE path = '/'";
            if self.query(index, probe).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let errors = self.log_lines(index, "<Error>");
                let last: Vec<&str> = errors.lines().rev().take(5).collect();
                bail!("node {index} not ready in {START_TIMEOUT:?}; last errors: {last:#?}");
            }
            let exited = self.nodes[index]
                .child
                .as_mut()
                .map(|child| child.try_wait().ok().flatten().is_some())
                .unwrap_or(true);
            if exited {
                tokio::time::sleep(Duration::from_millis(500)).await;
                self.spawn(index)?;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Lines of node `index`'s server log that contain `text`.
    pub fn log_lines(&self, index: usize, text: &str) -> String {
        let log = std::fs::read_to_string(self.nodes[index].directory.join("log/server.log"))
            .unwrap_or_default();
        log.lines()
            .filter(|line| line.contains(text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The files a node's `Distributed` tables still queue for other shards.
    pub fn queued_files(&self, index: usize) -> Vec<PathBuf> {
        let mut found = Vec::new();
        walk_bin_files(&self.nodes[index].directory.join("data"), &mut found);
        found
    }

    /// Puts the files node `index` set aside as `broken/` back in their
    /// queue, as the operator's runbook says (docs/architecture.md): 18.16
    /// sets a file aside when the receiving shard dies in the middle of it,
    /// and the receiver's deduplication ignores it if it had arrived.
    /// Returns how many were put back.
    pub fn requeue_broken(&self, index: usize) -> anyhow::Result<usize> {
        let mut moved = 0;
        for path in self.queued_files(index) {
            let Some(broken) = path.parent().filter(|dir| dir.ends_with("broken")) else {
                continue;
            };
            let (Some(queue), Some(name)) = (broken.parent(), path.file_name()) else {
                continue;
            };
            std::fs::rename(&path, queue.join(name))?;
            moved += 1;
        }
        Ok(moved)
    }

    /// SIGKILLs node `index` (no shutdown, no flush).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `index` again on its ports and data, and waits until it is ready.
    pub async fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        self.spawn(index)?;
        self.wait_ready(index).await
    }
}

impl Drop for LoopbackCluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
        let _ = self.zookeeper.kill();
        let _ = self.zookeeper.wait();
    }
}

fn walk_bin_files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk_bin_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "bin")
            && path.to_string_lossy().contains("127%2E0%2E0%2E1")
        {
            found.push(path);
        }
    }
}

fn start_zookeeper(directory: &Path, port: u16) -> anyhow::Result<Child> {
    let conf = directory.join("zk");
    std::fs::create_dir_all(conf.join("data"))?;
    std::fs::write(
        conf.join("zoo.cfg"),
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\nadmin.enableServer=false\n\
             4lw.commands.whitelist=ruok,stat,srvr,mntr\n",
            conf.join("data").display()
        ),
    )?;
    std::fs::write(
        conf.join("log4j.properties"),
        "log4j.rootLogger=WARN, FILE\nlog4j.appender.FILE=org.apache.log4j.FileAppender\n\
         log4j.appender.FILE.File=zookeeper.log\n\
         log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.FILE.layout.ConversionPattern=%d %p %c: %m%n\n",
    )?;
    let jars = [
        "zookeeper.jar",
        "zookeeper-jute.jar",
        "slf4j-api.jar",
        "slf4j-log4j12.jar",
        "log4j-1.2.jar",
    ];
    if !Path::new("/usr/share/java/zookeeper.jar").is_file() {
        bail!("ZooKeeper is not installed (scripts/lib.sh installs Debian's zookeeper)");
    }
    let mut classpath = conf.display().to_string();
    for jar in jars {
        classpath.push_str(":/usr/share/java/");
        classpath.push_str(jar);
    }
    Command::new("java")
        .args(["-Xms64m", "-Xmx256m", "-cp", &classpath])
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(conf.join("zoo.cfg"))
        .current_dir(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting ZooKeeper (java)")
}

/// Polls the four-letter `ruok` until ZooKeeper answers `imok`.
fn wait_for_zookeeper(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            stream.set_write_timeout(Some(Duration::from_secs(1)))?;
            let mut answer = String::new();
            if stream.write_all(b"ruok").is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer == "imok"
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("ZooKeeper did not answer on port {port}")
}

fn remote_servers(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|node| {
            format!(
                "<shard><internal_replication>true</internal_replication><replica>\
                 <host>127.0.0.1</host><port>{}</port></replica></shard>",
                node.tcp_port
            )
        })
        .collect()
}

fn write_node_config(
    node: &Node,
    index: usize,
    shards: &str,
    zookeeper_port: u16,
) -> anyhow::Result<()> {
    let dir = &node.directory;
    for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let dir_text = dir.display();
    let shard = format!("{:02}", index + 1);
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger><level>information</level><log>{dir_text}/log/server.log</log><errorlog>{dir_text}/log/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port><interserver_http_port>{interserver}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>{dir_text}/data/</path><tmp_path>{dir_text}/tmp/</tmp_path>
    <user_files_path>{dir_text}/user_files/</user_files_path><format_schema_path>{dir_text}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile><default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <mlock_executable>false</mlock_executable>
    <timezone>UTC</timezone>
    <remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>
    <zookeeper><node index="1"><host>127.0.0.1</host><port>{zookeeper_port}</port></node><session_timeout_ms>{SESSION_TIMEOUT_MS}</session_timeout_ms></zookeeper>
    <macros><shard>{shard}</shard><replica>node{number}</replica></macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
"#,
        http = node.http_port,
        tcp = node.tcp_port,
        interserver = node.interserver_port,
        number = index + 1,
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#;
    std::fs::write(dir.join("config.xml"), config)?;
    std::fs::write(dir.join("users.xml"), users)?;
    Ok(())
}
