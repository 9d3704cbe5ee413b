//! The write queue's byte budget, shared by every writer, and each
//! project's share of it.
//!
//! Every request's rows are charged, in bytes ([`crate::row_bytes`]), before
//! they are queued, and the charge is given back once they are written (or
//! given up). A request is refused ("retry later") when the queue as a whole
//! is full, or when its project already holds its share: one noisy project
//! then fills at most its share, and the others still get in. A request
//! larger than the share is charged the share, so that it can get in alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use tracehouse_model::ProjectId;

/// Default bound of the bytes held by queued rows, over every writer.
pub const DEFAULT_QUEUE_MAX_BYTES: usize = 128 * 1024 * 1024;
/// Default share of the queue one project may hold, in percent.
pub const DEFAULT_PROJECT_SHARE_PERCENT: u8 = 50;

/// Why the queue refused a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the write queue is full")]
    Full,
    #[error("the project holds its share of the write queue")]
    ProjectShare,
}

impl Refusal {
    /// The `reason` label of refused items.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Full => "queue_full",
            Self::ProjectShare => "project_share",
        }
    }
}

#[derive(Debug, Default)]
struct Usage {
    bytes: usize,
    by_project: HashMap<ProjectId, usize>,
}

#[derive(Debug)]
struct Budget {
    max_bytes: usize,
    project_max_bytes: usize,
    usage: Mutex<Usage>,
    freed: Notify,
}

/// The byte budget; cheap to clone, clones share it.
#[derive(Debug, Clone)]
pub struct WriteQueue {
    budget: Arc<Budget>,
}

impl Default for WriteQueue {
    fn default() -> Self {
        Self::new(DEFAULT_QUEUE_MAX_BYTES, DEFAULT_PROJECT_SHARE_PERCENT)
    }
}

/// Bytes charged to a project; given back when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<Budget>,
    project: ProjectId,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let mut usage = lock(&self.budget.usage);
        usage.bytes = usage.bytes.saturating_sub(self.bytes);
        if let Some(held) = usage.by_project.get_mut(&self.project) {
            *held = held.saturating_sub(self.bytes);
            if *held == 0 {
                usage.by_project.remove(&self.project);
            }
        }
        drop(usage);
        self.budget.freed.notify_waiters();
    }
}

impl Charge {
    /// Moves up to `bytes` of this charge into a charge of its own (for the
    /// part of a request that goes to another writer).
    pub fn split_off(&mut self, bytes: usize) -> Charge {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        Charge {
            budget: self.budget.clone(),
            project: self.project.clone(),
            bytes,
        }
    }
}

fn lock(usage: &Mutex<Usage>) -> MutexGuard<'_, Usage> {
    // The counts stay consistent under a panic elsewhere: each update is one step.
    usage.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WriteQueue {
    /// A budget of `max_bytes`, of which one project may hold `share_percent`.
    pub fn new(max_bytes: usize, share_percent: u8) -> Self {
        let max_bytes = max_bytes.max(1);
        let share = usize::from(share_percent.clamp(1, 100));
        Self {
            budget: Arc::new(Budget {
                max_bytes,
                project_max_bytes: (max_bytes / 100).saturating_mul(share).max(1),
                usage: Mutex::new(Usage::default()),
                freed: Notify::new(),
            }),
        }
    }

    /// Charges `bytes` to `project`, or refuses at once.
    pub fn try_charge(&self, project: &ProjectId, bytes: usize) -> Result<Charge, Refusal> {
        let bytes = bytes.min(self.budget.project_max_bytes);
        let mut usage = lock(&self.budget.usage);
        let held = usage.by_project.get(project).copied().unwrap_or(0);
        if held + bytes > self.budget.project_max_bytes {
            return Err(Refusal::ProjectShare);
        }
        if usage.bytes + bytes > self.budget.max_bytes {
            return Err(Refusal::Full);
        }
        usage.bytes += bytes;
        *usage.by_project.entry(project.clone()).or_insert(0) += bytes;
        Ok(Charge {
            budget: self.budget.clone(),
            project: project.clone(),
            bytes,
        })
    }

    /// Charges `bytes` to `project`, waiting for room (replay at start).
    pub async fn charge(&self, project: &ProjectId, bytes: usize) -> Charge {
        loop {
            let freed = self.budget.freed.notified();
            if let Ok(charge) = self.try_charge(project, bytes) {
                return charge;
            }
            freed.await;
        }
    }

    /// Bytes held by queued rows.
    pub fn bytes(&self) -> usize {
        lock(&self.budget.usage).bytes
    }

    /// The bound of the queue, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.budget.max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> ProjectId {
        ProjectId::new(name).expect("project")
    }

    #[test]
    fn a_project_over_its_share_is_refused_and_another_gets_in() {
        let queue = WriteQueue::new(1000, 50);
        let (noisy, quiet) = (project("noisy"), project("quiet"));
        let first = queue.try_charge(&noisy, 400).expect("room");
        assert_eq!(
            queue.try_charge(&noisy, 200).err(),
            Some(Refusal::ProjectShare)
        );
        let second = queue
            .try_charge(&quiet, 450)
            .expect("the other project gets in");
        assert_eq!(
            queue.try_charge(&quiet, 100).err(),
            Some(Refusal::ProjectShare)
        );
        assert_eq!(queue.bytes(), 850);
        drop(first);
        assert_eq!(queue.bytes(), 450);
        let _again = queue.try_charge(&noisy, 500).expect("room given back");
        drop(second);
        assert_eq!(queue.bytes(), 500);
    }

    #[test]
    fn the_whole_queue_bounds_every_project_together() {
        let queue = WriteQueue::new(1000, 60);
        let _a = queue.try_charge(&project("a"), 600).expect("room");
        let _b = queue.try_charge(&project("b"), 300).expect("room");
        assert_eq!(
            queue.try_charge(&project("c"), 200).err(),
            Some(Refusal::Full)
        );
        let _big = queue.try_charge(&project("c"), 100).expect("what fits");
    }

    #[test]
    fn a_request_larger_than_the_share_gets_in_alone() {
        let queue = WriteQueue::new(1000, 50);
        let big = queue
            .try_charge(&project("a"), 5000)
            .expect("charged the share");
        assert_eq!(queue.bytes(), 500);
        drop(big);
        assert_eq!(queue.bytes(), 0);
    }

    #[test]
    fn split_charges_give_back_their_own_part() {
        let queue = WriteQueue::new(1000, 100);
        let mut whole = queue.try_charge(&project("a"), 600).expect("room");
        let part = whole.split_off(200);
        let too_much = whole.split_off(5000);
        assert_eq!((part.bytes, too_much.bytes, whole.bytes), (200, 400, 0));
        drop(too_much);
        assert_eq!(queue.bytes(), 200);
        drop(part);
        drop(whole);
        assert_eq!(queue.bytes(), 0);
    }

    #[tokio::test]
    async fn a_replayed_request_waits_for_room() {
        let queue = WriteQueue::new(1000, 100);
        let held = queue.try_charge(&project("a"), 900).expect("room");
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.charge(&project("a"), 500).await.bytes }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(held);
        assert_eq!(waiting.await.expect("joined"), 500);
    }
}
