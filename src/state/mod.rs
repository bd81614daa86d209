//! The state directory: one lock per target and an append-only journal.
//!
//! Owns `.handover/` (or `--state-dir`): the lock that keeps two `apply` or
//! `reconcile` processes off the same target, and the journal of what was
//! applied, when, from which revision, with which outcome. The journal is
//! for history, resume speed and audit; correctness never depends on it
//! (every run re-observes and re-plans). Must not plan or talk to targets.

pub mod journal;
pub mod lock;

use std::path::{Path, PathBuf};

/// The default state directory for a target: `.handover/` beside a
/// `sim:FILE` target's file, or in the working directory otherwise.
pub fn default_dir(target_file: Option<&Path>) -> PathBuf {
    match target_file.and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.join(".handover"),
        _ => PathBuf::from(".handover"),
    }
}

/// Seconds since the Unix epoch, formatted as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
