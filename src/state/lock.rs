//! One lock per target, so a second `apply` or `reconcile` refuses at once.
//!
//! The lock is an OS advisory lock (`flock` on Unix, `LockFileEx` on
//! Windows) held on `<state-dir>/<target>.lock` for as long as the process
//! runs. The kernel releases it when the process dies, even by `kill -9`,
//! so a stale lock cannot block anyone: the next process takes it and
//! notes whose it was. The file's text names the holder (pid, host, since
//! when, command) for the refusal message. Must not touch the journal.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Who holds (or held) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When it took the lock, RFC 3339.
    pub since: String,
    /// What it was doing (`apply`, `reconcile`).
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (pid {} on {}, since {})",
            self.command, self.pid, self.host, self.since
        )
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error(
        "target {target} is locked by {holder}; wait for it to finish, or stop that process (the lock frees itself when it exits)"
    )]
    Held {
        /// The target's lock file.
        target: String,
        /// Who holds it.
        holder: Holder,
    },
    /// The lock file could not be created or read.
    #[error("cannot use lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct TargetLock {
    file: File,
    path: PathBuf,
    /// The previous holder, when it had died without releasing cleanly.
    pub recovered_from: Option<Holder>,
}

impl TargetLock {
    /// Takes the lock at `path` for `command`, or says who holds it.
    pub fn acquire(path: &Path, command: &str) -> Result<TargetLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file).unwrap_or_else(|| Holder {
                    pid: 0,
                    host: "unknown host".into(),
                    since: "an unknown time".into(),
                    command: "another handover process".into(),
                });
                return Err(LockError::Held {
                    target: path.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // We hold it. A holder still written in the file died without
        // cleaning up (a clean release empties the file).
        let recovered_from = read_holder(&mut file);
        let me = Holder {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            since: super::rfc3339(std::time::SystemTime::now()),
            command: command.to_string(),
        };
        let text = serde_json::to_string(&me).expect("holder serialises");
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(TargetLock {
            file,
            path: path.to_path_buf(),
            recovered_from,
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // Empty the file first so the next holder knows this was a clean
        // release; the kernel drops the lock with the handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        let first = TargetLock::acquire(&path, "apply").unwrap();
        assert!(first.recovered_from.is_none());
        let err = TargetLock::acquire(&path, "reconcile").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("locked by apply"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        let again = TargetLock::acquire(&path, "reconcile").unwrap();
        assert!(
            again.recovered_from.is_none(),
            "a clean release leaves no holder"
        );
    }

    #[test]
    fn a_dead_holders_lock_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        // What a process killed with -9 leaves behind: its holder text, no lock.
        let dead = Holder {
            pid: 999_999,
            host: "old-host".into(),
            since: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        let lock = TargetLock::acquire(&path, "apply").unwrap();
        assert_eq!(lock.recovered_from, Some(dead));
    }
}
