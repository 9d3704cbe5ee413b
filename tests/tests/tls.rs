//! TLS on every listener, against real ClickHouse: a test CA made with
//! rcgen signs the server's certificate; reqwest (rustls) and a tonic
//! client trusting that CA send OTLP/HTTP, OTLP/gRPC, read pages and
//! metrics, and log in (the session cookie is `Secure`); plain HTTP and
//! clients that do not trust the CA are refused. A certificate rotated on
//! disk, or replaced and announced with SIGHUP, is served to new
//! connections without a restart, and a broken one leaves the old in force.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tracehouse_model::access::{ApiTokenEntry, AuthSettings, Role, SecretHash, UserEntry};
use tracehouse_tests::{now_unix_nanos, TestApp};

const API_TOKEN: &str = "tls-api-token";
const USER: (&str, &str) = ("ana", "tls password 1");

/// A CA and a server certificate it signed, as PEM.
struct Issued {
    ca: String,
    cert: String,
    key: String,
}

fn issue(ca_name: &str) -> Issued {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "tracehouse test server");
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
    Issued {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

struct Files {
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn in_dir(dir: &Path) -> Self {
        Self {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    fn write(&self, issued: &Issued) {
        std::fs::write(&self.cert, &issued.cert).expect("write cert");
        std::fs::write(&self.key, &issued.key).expect("write key");
    }

    fn modified(&self) -> [SystemTime; 2] {
        [&self.cert, &self.key].map(|path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .expect("mtime")
        })
    }

    /// Replaces both files with `issued` keeping their modification times
    /// (written aside, dated back, renamed over), so that only SIGHUP can
    /// announce the change.
    fn replace_quietly(&self, issued: &Issued) {
        let times = self.modified();
        let pairs = [(&self.cert, &issued.cert), (&self.key, &issued.key)];
        for ((path, text), time) in pairs.into_iter().zip(times) {
            let aside = path.with_extension("new");
            std::fs::write(&aside, text).expect("write aside");
            std::fs::File::options()
                .write(true)
                .open(&aside)
                .and_then(|file| file.set_modified(time))
                .expect("set mtime");
            std::fs::rename(&aside, path).expect("rename");
        }
        assert_eq!(self.modified(), times);
    }
}

/// A client trusting only `ca`, opening a new connection for every request.
fn client_trusting(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("ca pem"))
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn user() -> UserEntry {
    UserEntry {
        name: USER.0.to_owned(),
        password_argon2: tracehouse_web::session::hash_password(USER.1).expect("hash"),
        projects: vec!["default".to_owned()],
        role: Role::Read,
    }
}

async fn start(files: &Files, issued: &Issued) -> anyhow::Result<TestApp> {
    files.write(issued);
    let (cert, key) = (files.cert.clone(), files.key.clone());
    let mut app = TestApp::start_with(|config| {
        config.tls_cert_file = Some(cert);
        config.tls_key_file = Some(key);
        config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
        config.auth = Some(AuthSettings {
            api_tokens: vec![ApiTokenEntry {
                name: "reader".to_owned(),
                projects: vec!["default".to_owned()],
                token_sha256: SecretHash::of(API_TOKEN).to_hex(),
            }],
            users: vec![user()],
            ..AuthSettings::default()
        });
    })
    .await?;
    app.http = client_trusting(&issued.ca);
    Ok(app)
}

fn grpc_trace(trace_id: [u8; 16]) -> ExportTraceServiceRequest {
    let start = now_unix_nanos();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: trace_id.to_vec(),
                    span_id: vec![7; 8],
                    name: "over tls".to_owned(),
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + 1000,
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn spans_sql(trace_hex: &str) -> String {
    format!("SELECT count() AS count FROM spans WHERE trace_id = unhex('{trace_hex}')")
}

/// What the server presents to a new connection: Ok when `ca` verifies it.
async fn served_by(app: &TestApp, ca: &str) -> Result<u16, String> {
    client_trusting(ca)
        .get(format!("{}/login", app.http_url()))
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| format!("{error:?}"))
}

async fn wait_until_served_by(app: &TestApp, ca: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match served_by(app, ca).await {
            Ok(_) => return Ok(()),
            Err(error) if tokio::time::Instant::now() > deadline => {
                anyhow::bail!("the new certificate is not served after 15 s: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_listener_serves_tls_and_sessions_are_secure() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = Files::in_dir(dir.path());
    let issued = issue("Tracehouse test CA");
    let app = start(&files, &issued).await?;
    assert_eq!(app.scheme(), "https");

    // OTLP/HTTP over TLS, JSON.
    let http_trace = "a1".repeat(16);
    assert_eq!(app.export_one_span(&http_trace, "handler").await?, 200);
    app.wait_for_rows(&spans_sql(&http_trace), 1).await?;

    // OTLP/gRPC over TLS: tonic with the test CA, ALPN h2.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&issued.ca))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(app.otlp_grpc_url())?
        .tls_config(tls)?
        .connect()
        .await?;
    TraceServiceClient::new(channel)
        .export(grpc_trace([0xb2; 16]))
        .await?;
    app.wait_for_rows(&spans_sql(&"b2".repeat(16)), 1).await?;

    // The query API with an API token, and health and metrics on their own listener.
    let read = app
        .http
        .get(format!("{}/api/v1/traces/{http_trace}", app.http_url()))
        .bearer_auth(API_TOKEN)
        .send()
        .await?;
    assert_eq!(read.status(), 200);
    let metrics_address = app
        .running
        .as_ref()
        .and_then(|running| running.addresses.metrics)
        .expect("metrics listener");
    let metrics = app
        .http
        .get(format!("https://{metrics_address}/metrics"))
        .send()
        .await?;
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await?
        .contains("tracehouse_otlp_requests_total"));

    // TLS only: plain HTTP and clients that do not trust the CA get no answer.
    for address in [
        app.http_url(),
        app.otlp_http_url(),
        format!("https://{metrics_address}"),
    ] {
        let plain = address.replacen("https://", "http://", 1);
        let refused = reqwest::Client::new()
            .get(format!("{plain}/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        assert!(refused.is_err(), "plain HTTP answered on {plain}");
    }
    let other_ca = issue("Another CA").ca;
    assert!(served_by(&app, &other_ca).await.is_err());
    let untrusting = tonic::transport::Channel::from_shared(app.otlp_grpc_url())?
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(&other_ca))
                .domain_name("localhost"),
        )?
        .connect()
        .await;
    assert!(
        untrusting.is_err(),
        "a client not trusting the CA connected"
    );

    // A session over the listener's own TLS: Secure cookies, the user's name and a logout form.
    let form = app
        .http
        .get(format!("{}/login", app.http_url()))
        .send()
        .await?;
    let login_cookie = set_cookie(&form, "tracehouse_login");
    assert!(login_cookie.contains("; Secure"), "{login_cookie}");
    let csrf = hidden_field(&form.text().await?, "csrf_token");
    let login = app
        .http
        .post(format!("{}/login", app.http_url()))
        .header("cookie", cookie_pair(&login_cookie))
        .form(&[
            ("name", USER.0),
            ("password", USER.1),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    assert_eq!(login.status(), 303);
    let session = set_cookie(&login, "tracehouse_session");
    assert!(
        session.contains("HttpOnly") && session.contains("; Secure"),
        "{session}"
    );
    let page = app
        .http
        .get(format!("{}/", app.http_url()))
        .header("cookie", cookie_pair(&session))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("<span class=\"user\" title=\"Signed in\">ana</span>"));
    assert!(page.contains("action=\"/logout\""));
    app.stop().await
}

fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_certificate_is_served_without_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = Files::in_dir(dir.path());
    let first = issue("First CA");
    let app = start(&files, &first).await?;
    assert_eq!(served_by(&app, &first.ca).await, Ok(200));

    // Rotation by file change: the next connections get the new certificate.
    let second = issue("Second CA");
    files.write(&second);
    wait_until_served_by(&app, &second.ca).await?;
    assert!(served_by(&app, &first.ca).await.is_err());

    // A broken pair is refused; the certificate in force stays.
    std::fs::write(&files.key, "not a key")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served_by(&app, &second.ca).await, Ok(200));

    // Rotation announced by SIGHUP alone: the files' times are put back.
    files.write(&second);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let third = issue("Third CA");
    files.replace_quietly(&third);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        served_by(&app, &second.ca).await,
        Ok(200),
        "reloaded without a change of time or a signal"
    );
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()?;
    assert!(status.success());
    wait_until_served_by(&app, &third.ca).await?;
    assert!(served_by(&app, &second.ca).await.is_err());

    // Data still flows over the rotated certificate.
    let mut app = app;
    app.http = client_trusting(&third.ca);
    let trace = "c3".repeat(16);
    assert_eq!(app.export_one_span(&trace, "after rotation").await?, 200);
    app.wait_for_rows(&spans_sql(&trace), 1).await?;
    app.stop().await
}

/// `serve --demo` with TLS (and ingest tokens): its channel trusts the
/// certificate in force, before and after a rotation.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_sends_over_tls_with_its_own_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = Files::in_dir(dir.path());
    let first = issue("Demo CA");
    files.write(&first);
    let mut demo_token = None;
    let (cert, key) = (files.cert.clone(), files.key.clone());
    let app = TestApp::start_with(|config| {
        config.tls_cert_file = Some(cert);
        config.tls_key_file = Some(key);
        config.auth = Some(AuthSettings {
            ingest_tokens: vec![tracehouse_model::access::IngestTokenEntry {
                project: "payments".to_owned(),
                token_sha256: SecretHash::of("payments-token").to_hex(),
            }],
            ..AuthSettings::default()
        });
        demo_token = tracehouse::demo::prepare(config).expect("prepared");
        config.alerts = None;
    })
    .await?;
    let running = app.running.as_ref().expect("running");
    let address = running.addresses.otlp_grpc.expect("collector");
    let tls = running.tls.clone().expect("tls");
    let options = tracehouse_simulator::DemoOptions {
        duration: Some(Duration::ZERO),
        backfill: Duration::from_secs(60),
        ingest_token: demo_token,
        ..tracehouse_simulator::DemoOptions::default()
    };
    let channel = tracehouse::demo::own_tls_channel(address, &tls).await?;
    let summary = tracehouse_simulator::run_on(channel, &options).await?;
    let in_default = "SELECT count() AS count FROM spans WHERE project = 'default'";
    app.wait_for_rows(in_default, summary.spans).await?;

    files.write(&issue("Rotated demo CA"));
    let rotated = tokio::time::Instant::now() + Duration::from_secs(15);
    let second = loop {
        let channel = tracehouse::demo::own_tls_channel(address, &tls).await?;
        match tracehouse_simulator::run_on(channel, &options).await {
            Ok(summary) => break summary,
            Err(error) if tokio::time::Instant::now() > rotated => {
                anyhow::bail!("no demo after the rotation: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    app.wait_for_rows(in_default, summary.spans + second.spans)
        .await?;
    app.stop().await
}
