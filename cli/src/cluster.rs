//! Cluster mode in a process: the shard watch that marks answers partial
//! while a shard is down (reads skip it, see
//! `tracehouse_schema::cluster_shards`).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracehouse_schema::cluster_shards::{reachable_shards, ShardCount};
use tracehouse_schema::Cluster;

/// The response header of an answer read while shards were down, e.g.
/// `1 of 2 shards unreachable`.
pub const PARTIAL_HEADER: &str = "tracehouse-partial";

/// How often the shards are counted.
pub const SHARD_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The latest count of shards that did not answer (0 when all did).
#[derive(Clone, Default)]
pub struct ShardWatch {
    shards: Arc<AtomicU64>,
    unreachable: Arc<AtomicU64>,
}

impl ShardWatch {
    /// `N of M shards unreachable` while some are.
    pub fn partial(&self) -> Option<String> {
        let unreachable = self.unreachable.load(Ordering::Relaxed);
        let shards = self.shards.load(Ordering::Relaxed);
        (unreachable > 0).then(|| format!("{unreachable} of {shards} shards unreachable"))
    }

    fn store(&self, count: ShardCount) {
        self.shards.store(count.shards, Ordering::Relaxed);
        let unreachable = count.shards.saturating_sub(count.reachable);
        let before = self.unreachable.swap(unreachable, Ordering::Relaxed);
        if before != unreachable {
            tracing::warn!(
                unreachable,
                shards = count.shards,
                "shards unreachable changed; answers are partial while any is"
            );
        }
    }
}

/// Counts the shards every [`SHARD_WATCH_INTERVAL`] until shutdown. The
/// client must skip unavailable shards (the query side's client).
pub fn spawn_shard_watch(
    client: clickhouse::Client,
    cluster: Cluster,
    mut shutdown: watch::Receiver<bool>,
) -> ShardWatch {
    let watch = ShardWatch::default();
    let shared = watch.clone();
    tokio::spawn(async move {
        loop {
            match reachable_shards(&client, &cluster).await {
                Ok(count) => shared.store(count),
                Err(error) => tracing::warn!(%error, "cannot count reachable shards"),
            }
            tokio::select! {
                _ = tokio::time::sleep(SHARD_WATCH_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    });
    watch
}

/// Adds [`PARTIAL_HEADER`] to every answer given while shards are down.
pub fn mark_partial(router: Router, watch: ShardWatch) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let watch = watch.clone();
            async move {
                let mut response: Response = next.run(request).await;
                if let Some(value) = watch
                    .partial()
                    .and_then(|text| HeaderValue::from_str(&text).ok())
                {
                    response.headers_mut().insert(PARTIAL_HEADER, value);
                }
                response
            }
        },
    ))
}
