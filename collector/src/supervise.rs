//! Supervision of the writer tasks: a writer that panics is started again
//! (after a short pause, so a panic on every batch cannot spin), and each
//! writer's state is kept for `/readyz`. The queue survives the restart.
//! The batch a panic interrupted is dropped from memory, but its
//! write-ahead-log holds are never released, so its records stay in the
//! log and are written again at the next start.

use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pause before a panicked writer is started again.
const RESTART_PAUSE: Duration = Duration::from_millis(200);

/// The state of one writer, as `/readyz` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriterState {
    /// The writer's table.
    pub table: String,
    /// Whether its task runs (false once it ended, or while it restarts).
    pub running: bool,
    /// Times it was started again after a panic.
    pub restarts: u64,
    /// The last panic's message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_panic: Option<String>,
}

/// The states of every writer of the process; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct WriterStates(Arc<Mutex<BTreeMap<&'static str, WriterState>>>);

impl WriterStates {
    /// Every writer's state, by table.
    pub fn snapshot(&self) -> Vec<WriterState> {
        self.0
            .lock()
            .map(|states| states.values().cloned().collect())
            .unwrap_or_default()
    }

    fn update(&self, table: &'static str, change: impl FnOnce(&mut WriterState)) {
        if let Ok(mut states) = self.0.lock() {
            let state = states.entry(table).or_insert_with(|| WriterState {
                table: table.to_owned(),
                ..WriterState::default()
            });
            change(state);
        }
    }
}

/// Runs the task `start` makes until it ends without panicking, starting it
/// again after each panic.
pub async fn supervise<F, T>(table: &'static str, states: WriterStates, mut start: F)
where
    F: FnMut() -> T,
    T: Future<Output = ()> + Send + 'static,
{
    loop {
        states.update(table, |state| state.running = true);
        let outcome = tokio::spawn(start()).await;
        states.update(table, |state| state.running = false);
        let Err(error) = outcome else {
            return;
        };
        if !error.is_panic() {
            return;
        }
        let message = panic_message(error.into_panic());
        tracing::error!(table, panic = %message, "writer panicked; starting it again");
        states.update(table, |state| {
            state.restarts += 1;
            state.last_panic = Some(message);
        });
        tokio::time::sleep(RESTART_PAUSE).await;
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        return (*text).to_owned();
    }
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_panicking_writer_is_started_again_and_its_state_shows() {
        let states = WriterStates::default();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        supervise("spans", states.clone(), move || {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 2 {
                    panic!("bad row {attempt}");
                }
            }
        })
        .await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        let state = &states.snapshot()[0];
        assert_eq!(state.table, "spans");
        assert_eq!(state.restarts, 2);
        assert!(!state.running, "it ended normally");
        assert_eq!(state.last_panic.as_deref(), Some("bad row 1"));
    }

    #[tokio::test]
    async fn a_running_writer_shows_as_running() {
        let states = WriterStates::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut stopped = Some(stopped);
        let task = tokio::spawn(supervise("logs", states.clone(), move || {
            let stopped = stopped.take();
            async move {
                if let Some(stopped) = stopped {
                    let _ = stopped.await;
                }
            }
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(states.snapshot()[0].running);
        let _ = stop.send(());
        task.await.expect("supervisor");
        assert!(!states.snapshot()[0].running);
    }
}
