//! A TCP proxy that can cut the connection to ClickHouse mid-test, to prove
//! that Tracehouse pushes back while ClickHouse is unreachable and loses
//! nothing it accepted once it is back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy. Dropping it stops accepting connections.
pub struct ChaosProxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    cut_signal: watch::Sender<u64>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl ChaosProxy {
    /// Forwards a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let (cut_signal, _) = watch::channel(0u64);
        let accept_task = tokio::spawn(accept_loop(
            listener,
            target,
            cut.clone(),
            cut_signal.clone(),
        ));
        Ok(Self {
            address,
            cut,
            cut_signal,
            accept_task,
        })
    }

    /// `http://` URL of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Closes every open connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cut_signal.send_modify(|generation| *generation += 1);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    cut: Arc<AtomicBool>,
    cut_signal: watch::Sender<u64>,
) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        // Subscribe before reading the flag: a cut that lands in between is
        // then either seen by the flag or delivered to the receiver.
        let mut cut_receiver = cut_signal.subscribe();
        if cut.load(Ordering::SeqCst) {
            drop(inbound);
            continue;
        }
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(target).await else {
                return;
            };
            tokio::select! {
                _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = cut_receiver.changed() => {}
            }
        });
    }
}
