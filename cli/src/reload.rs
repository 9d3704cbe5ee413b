//! Reading files again while running: on SIGHUP, and when a file's
//! modification time changes (checked every [`FILE_POLL_INTERVAL`]). One
//! rule for every file a running Tracehouse reloads (access rules, the TLS
//! certificate); a reload that fails leaves what was in force.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How often the files' modification times are compared.
pub const FILE_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The modification time of each of `paths`; `None` for one that cannot be read.
pub fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .ok()
        })
        .collect()
}

/// Calls `reload` with `state` on SIGHUP and whenever the modification
/// times of `files(&state)` change, until `shutdown`. `what` names what is
/// reloaded in the warning logged when SIGHUP cannot be listened for.
pub async fn on_change<S>(
    mut state: S,
    files: impl Fn(&S) -> Vec<PathBuf>,
    mut reload: impl FnMut(&mut S),
    what: &str,
    mut shutdown: watch::Receiver<bool>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())
        .map_err(|error| tracing::warn!(%error, "cannot listen for SIGHUP: {what} reloads on file change only"))
        .ok();
    let mut seen = modified(&files(&state));
    loop {
        let hangup_received = async {
            match hangup.as_mut() {
                Some(hangup) => hangup.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = hangup_received => {}
            _ = tokio::time::sleep(FILE_POLL_INTERVAL) => {
                if modified(&files(&state)) == seen {
                    continue;
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        seen = modified(&files(&state));
        reload(&mut state);
    }
}
