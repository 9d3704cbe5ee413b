//! The query side on threads of its own: the dashboard, the JSON API and
//! the Jaeger API run on a Tokio runtime of [`query_threads`] workers,
//! apart from the runtime of the receivers and the writers. However much
//! a flood of queries renders, it can then take only those threads from
//! the operating system's scheduler, never the receivers' workers, and a
//! receiver's request never waits behind a page being rendered.

use std::future::Future;

/// Workers of the query runtime: half the cores, at least one.
pub fn query_threads() -> usize {
    std::thread::available_parallelism()
        .map(|cores| cores.get() / 2)
        .unwrap_or(1)
        .max(1)
}

/// Runs what `make` returns on a runtime of its own (made inside it, so
/// that sockets and timers belong to it) and returns its output once it
/// ends. The runtime and its thread end with it.
pub async fn run<F, Fut, T>(make: F) -> std::io::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(query_threads())
        .thread_name("tracehouse-query")
        .enable_all()
        .build()?;
    let (done, output) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tracehouse-query-main".to_owned())
        .spawn(move || {
            let _ = done.send(runtime.block_on(async move { make().await }));
            // The runtime is dropped here, off any async context.
        })?;
    output
        .await
        .map_err(|_| std::io::Error::other("the query runtime stopped without an answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_on_other_threads_and_returns_the_output() {
        let caller = std::thread::current().id();
        let (thread, name) = run(|| async {
            let inner = tokio::spawn(async { std::thread::current().name().map(str::to_owned) });
            (std::thread::current().id(), inner.await.ok().flatten())
        })
        .await
        .expect("ran");
        assert_ne!(thread, caller);
        assert_eq!(name.as_deref(), Some("tracehouse-query"));
        assert!(query_threads() >= 1);
    }
}
