//! The data directory: private to its owner and used by one process at a time.

use anyhow::Context;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// The file whose exclusive lock marks a data directory as in use.
pub const LOCK_FILE: &str = "tracehouse.lock";

/// An exclusive claim on a data directory, released when dropped (or when
/// the process dies, however it dies).
#[derive(Debug)]
pub struct DataDirLock {
    _lock: Flock<File>,
}

/// Creates `dir` (mode 0700) if needed, makes it private to its owner, and
/// locks it. A second process on the same directory gets a clear error.
pub fn claim(dir: &Path) -> anyhow::Result<DataDirLock> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making data directory {} private", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        anyhow::anyhow!(
            "data directory {} is in use by another Tracehouse (lock {}: {errno}); \
             stop it or pass another --data-dir",
            dir.display(),
            path.display()
        )
    })?;
    Ok(DataDirLock { _lock: lock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_released() {
        let parent = tempfile::tempdir().expect("temp dir");
        let dir = parent.path().join("data");
        let first = claim(&dir).expect("first claim");
        let mode = std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let refused = claim(&dir).expect_err("second claim");
        assert!(
            refused.to_string().contains("in use by another Tracehouse"),
            "{refused}"
        );
        assert!(refused.to_string().contains("--data-dir"), "{refused}");
        drop(first);
        claim(&dir).expect("claim after release");
    }
}
