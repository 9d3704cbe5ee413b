//! TLS of the listeners: the certificate and key of `tls_cert_file` and
//! `tls_key_file`, read again when either file changes and on SIGHUP (a
//! pair that does not load is logged, and the one in force stays), and a
//! listener that completes handshakes off the accept loop for axum and
//! tonic alike.

use crate::config::Config;
use anyhow::Context;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How often the files are checked for changes.
/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once on one listener; more connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;
/// Completed handshakes waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// Protocols offered to HTTP clients (axum serves both).
pub const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];
/// Protocols offered to gRPC clients.
pub const ALPN_GRPC: &[&[u8]] = &[b"h2"];

/// The certificate files.
#[derive(Debug, Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    /// Reads and checks the pair: the chain, the key, and that they match.
    fn load(&self, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
        let cert = self.cert.display();
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .with_context(|| format!("tls_cert_file {cert}: cannot read"))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("tls_cert_file {cert}: not a PEM certificate chain"))?;
        anyhow::ensure!(!chain.is_empty(), "tls_cert_file {cert}: no certificate");
        let key = PrivateKeyDer::from_pem_file(&self.key).with_context(|| {
            format!(
                "tls_key_file {}: no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                self.key.display()
            )
        })?;
        CertifiedKey::from_der(chain, key, provider).with_context(|| {
            format!(
                "tls_cert_file {cert} and tls_key_file {}: do not make a usable pair",
                self.key.display()
            )
        })
    }
}

/// The certificate in force, swapped on reload; new handshakes use the new one.
#[derive(Debug)]
struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl CurrentCertificate {
    fn get(&self) -> Arc<CertifiedKey> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, key: CertifiedKey) {
        let key = Arc::new(key);
        match self.0.write() {
            Ok(mut guard) => *guard = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// TLS for the listeners of one process.
#[derive(Clone)]
pub struct Tls {
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCertificate>,
}

impl Tls {
    /// The TLS of `config`, if its certificate files are set; kept current until `shutdown`.
    pub fn start(config: &Config, shutdown: watch::Receiver<bool>) -> anyhow::Result<Option<Self>> {
        let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) else {
            return Ok(None);
        };
        let files = Files {
            cert: cert.clone(),
            key: key.clone(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = files.load(&provider)?;
        tracing::info!(cert = %files.cert.display(), "TLS certificate loaded");
        let tls = Self {
            provider,
            current: Arc::new(CurrentCertificate(RwLock::new(Arc::new(loaded)))),
        };
        tokio::spawn(reload_on_change(tls.clone(), files, shutdown));
        Ok(Some(tls))
    }

    /// An acceptor offering `alpn`, always presenting the certificate in force.
    pub fn acceptor(&self, alpn: &[&[u8]]) -> anyhow::Result<TlsAcceptor> {
        let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&self.current) as Arc<dyn ResolvesServerCert>);
        server.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(TlsAcceptor::from(Arc::new(server)))
    }
}

impl Tls {
    /// A client for this process's own listeners (the demo's): it accepts
    /// exactly the certificate in force, whatever names it carries or CA
    /// signed it, and offers `alpn`.
    pub fn own_listener_connector(&self, alpn: &[&[u8]]) -> anyhow::Result<TlsConnector> {
        let verifier = OwnCertificate {
            current: Arc::clone(&self.current),
            provider: Arc::clone(&self.provider),
        };
        let mut client = rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        client.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(TlsConnector::from(Arc::new(client)))
    }
}

/// Trusts the certificate this process serves, and no other.
#[derive(Debug)]
struct OwnCertificate {
    current: Arc<CurrentCertificate>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for OwnCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let current = self.current.get();
        if current.end_entity_cert()? == end_entity {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, signature, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, signature, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Reloads on SIGHUP and when either file's modification time changes.
async fn reload_on_change(tls: Tls, files: Files, shutdown: watch::Receiver<bool>) {
    let reload = |(tls, files): &mut (Tls, Files)| match files.load(&tls.provider) {
        Ok(loaded) => {
            tls.current.replace(loaded);
            tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
        }
        // A certificate written before its key fails once, then loads at the key's change.
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "TLS certificate not reloaded; the previous one stays in force")
        }
    };
    crate::reload::on_change(
        (tls, files),
        |(_, files)| vec![files.cert.clone(), files.key.clone()],
        reload,
        "the TLS certificate",
        shutdown,
    )
    .await;
}

/// Connections whose handshake completed, in the order they completed.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` until `shutdown` (or until this listener is
    /// dropped), each handshake in a task of its own under a timeout, so a
    /// slow client holds up nobody else.
    pub fn new(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(ACCEPTED_BACKLOG);
        tokio::spawn(accept_loop(listener, acceptor, sender, shutdown));
        Ok(Self { accepted, local })
    }

    /// The next connection; `None` once the accept loop has ended.
    pub async fn next(&mut self) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
        self.accepted.recv().await
    }

    /// The connections as the stream tonic serves.
    pub fn into_stream(
        self,
    ) -> impl futures::Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> + Send + 'static
    {
        futures::stream::unfold(self, |mut listener| async move {
            let (stream, _) = listener.next().await?;
            Some((Ok(stream), listener))
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.next().await {
            Some(accepted) => accepted,
            // Stopping: the graceful shutdown ends the server.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    accepted: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
            return;
        };
        let stopping = async {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        let result = tokio::select! {
            result = listener.accept() => result,
            _ = accepted.closed() => return,
            _ = stopping => return,
        };
        let (tcp, peer) = match result {
            Ok(connection) => connection,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, accepted) = (acceptor.clone(), accepted.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = accepted.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_elapsed) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn pair() -> (String, String) {
        let issued =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        (issued.cert.pem(), issued.key_pair.serialize_pem())
    }

    fn files(dir: &Path, cert: &str, key: &str) -> Files {
        let files = Files {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, cert).expect("write cert");
        std::fs::write(&files.key, key).expect("write key");
        files
    }

    fn load_error(files: &Files) -> String {
        let provider = rustls::crypto::ring::default_provider();
        format!("{:#}", files.load(&provider).expect_err("refused"))
    }

    #[test]
    fn a_pair_loads_and_bad_ones_name_the_key_at_fault() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = pair();
        let provider = rustls::crypto::ring::default_provider();
        assert!(files(dir.path(), &cert, &key).load(&provider).is_ok());

        let (_, other_key) = pair();
        let error = load_error(&files(dir.path(), &cert, &other_key));
        assert!(error.contains("do not make a usable pair"), "{error}");
        let error = load_error(&files(dir.path(), "", &key));
        assert!(
            error.contains("tls_cert_file") && error.contains("no certificate"),
            "{error}"
        );
        let error = load_error(&files(dir.path(), &cert, "not a key"));
        assert!(error.contains("tls_key_file"), "{error}");
        let missing = Files {
            cert: dir.path().join("absent.pem"),
            key: dir.path().join("key.pem"),
        };
        assert!(load_error(&missing).contains("cannot read"));
    }

    #[test]
    fn both_files_or_neither() {
        let config = Config {
            tls_cert_file: Some(PathBuf::from("/etc/tracehouse/cert.pem")),
            ..Config::default()
        };
        let error = config.validate().expect_err("one file alone");
        assert!(error.to_string().contains("tls_key_file"), "{error}");
        assert!(!config.serves_tls());
        assert_eq!(Config::default().url_scheme(), "http");
    }
}
