//! One writer per file: an advisory OS lock (`flock`) taken without waiting.
//!
//! The run log of every graph run is locked this way, and so is
//! `hone bench`'s results file. The OS drops the lock when the file is
//! closed or its process ends, even on `kill -9`, so nothing left behind
//! blocks the next writer.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("f");
//! let a = std::fs::File::create(&path).unwrap();
//! let b = std::fs::File::open(&path).unwrap();
//! assert!(hone_core::file_lock::try_lock_exclusive(&a).unwrap());
//! assert!(!hone_core::file_lock::try_lock_exclusive(&b).unwrap());
//! ```

use std::fs::File;

/// Takes an exclusive lock on `file` without waiting; `Ok(false)` when
/// another open file holds it. (On platforms without `flock`, always
/// `Ok(true)`: nothing is locked.)
#[cfg(unix)]
pub fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Takes an exclusive lock on `file` without waiting; `Ok(false)` when
/// another open file holds it. (On platforms without `flock`, always
/// `Ok(true)`: nothing is locked.)
#[cfg(not(unix))]
pub fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}
