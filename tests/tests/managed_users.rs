//! Managed mode separates reading from writing: the managed ClickHouse has a
//! writer and a read-only reader, each with a random password kept in a
//! mode-0600 file of the data directory, and no user without a password.
//! The passwords appear in no log line, error, page or metric.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use tracehouse::Config;
use tracehouse_schema::managed_users::{READER_USER, WRITER_USER};
use tracehouse_schema::ClickHouseSettings;

/// Every log line of the process, at debug level.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

fn password_of(credentials: &str, user: &str) -> String {
    credentials
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{user}=")))
        .expect("user in the credentials file")
        .to_owned()
}

fn config(data_dir: &std::path::Path) -> anyhow::Result<Config> {
    Ok(Config {
        data_dir: data_dir.to_owned(),
        clickhouse_url: None,
        otlp_grpc_addr: "127.0.0.1:0".parse()?,
        otlp_http_addr: "127.0.0.1:0".parse()?,
        http_addr: "127.0.0.1:0".parse()?,
        ..Config::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_side_reads_as_a_read_only_user_with_a_private_password() -> anyhow::Result<()> {
    let logs = CapturedLogs::default();
    let writer_for_logs = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer_for_logs.clone())
        .init();
    let data_dir = tempfile::tempdir()?;
    let running = tracehouse::serve(config(data_dir.path())?).await?;
    let clickhouse_dir = data_dir.path().join("clickhouse");
    for file in ["credentials", "users.xml"] {
        let mode = std::fs::metadata(clickhouse_dir.join(file))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let credentials = std::fs::read_to_string(clickhouse_dir.join("credentials"))?;
    let writer_password = password_of(&credentials, WRITER_USER);
    let reader_password = password_of(&credentials, READER_USER);
    let writer = running.clickhouse.clone();
    assert_eq!(writer.user, WRITER_USER);
    let reader = ClickHouseSettings {
        user: READER_USER.to_owned(),
        password: reader_password.clone(),
        ..writer.clone()
    };

    let reader_client = reader.client()?;
    let counted: u64 = reader_client
        .query("SELECT count() FROM spans")
        .fetch_one()
        .await?;
    assert_eq!(counted, 0);
    let refused = reader_client
        .query("CREATE TABLE scratch (x UInt8) ENGINE = Memory")
        .execute()
        .await
        .expect_err("the reader is read-only");
    assert!(refused.to_string().contains("Code: 164"), "{refused}");
    writer
        .client()?
        .query("CREATE TABLE scratch (x UInt8) ENGINE = Memory")
        .execute()
        .await?;
    let nobody = ClickHouseSettings {
        user: "default".to_owned(),
        password: String::new(),
        ..writer.clone()
    };
    assert!(
        nobody.client()?.query("SELECT 1").execute().await.is_err(),
        "no user without a password"
    );

    let http = reqwest::Client::new();
    let base = format!("http://{}", running.addresses.http);
    let mut seen = format!("{:?}", running.clickhouse);
    for path in [
        "/metrics",
        "/readyz",
        "/",
        "/functions",
        "/api/v1/functions",
        "/api/v1/functions?from=soon",
        "/api/v1/services?from=0",
    ] {
        let response = http.get(format!("{base}{path}")).send().await?;
        let expected = if path.contains("from=") { 400 } else { 200 };
        assert_eq!(response.status().as_u16(), expected, "{path}");
        seen.push_str(&response.text().await?);
    }
    running.shutdown().await?;
    // A second start on the same directory keeps the passwords.
    let again = tracehouse::serve(config(data_dir.path())?).await?;
    assert_eq!(again.clickhouse.password, writer_password);
    again.shutdown().await?;

    seen.push_str(&logs.text());
    for entry in std::fs::read_dir(clickhouse_dir.join("log"))? {
        seen.push_str(&String::from_utf8_lossy(&std::fs::read(entry?.path())?));
    }
    assert!(
        logs.text().contains("managed clickhouse is up"),
        "logs are captured"
    );
    for password in [&writer_password, &reader_password] {
        assert!(!seen.contains(password.as_str()), "a password leaked");
    }
    Ok(())
}
