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

/// The file naming the process that uses a data directory, for leases.
pub const HOLDER_FILE: &str = "lease-holder";

/// The name this data directory's process holds leases by, the same across
/// its restarts: read from [`HOLDER_FILE`], written there the first time.
pub fn holder_id(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(HOLDER_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    }
    let id = format!(
        "{:016x}{:08x}",
        tracehouse_model::time::now_unix_nano(),
        std::process::id()
    );
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
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

    #[test]
    fn the_holder_id_stays_across_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = holder_id(dir.path()).expect("first");
        assert_eq!(first.len(), 24);
        assert_eq!(holder_id(dir.path()).expect("again"), first);
    }
}
