//! The journal: an append-only record of every run and step, fsync'd at
//! once ([`Journal::append`]) or in groups ([`Journal::append_unsynced`]).
//!
//! One JSON object per line in `<state-dir>/journal.jsonl`. Each record is
//! written and synced before the next step starts, so after a crash the
//! journal says everything that was applied up to it. A torn last line (a
//! crash mid-write) is ignored on reading. The journal serves `history`,
//! audit and resume speed; correctness never depends on it. Must not plan
//! or talk to targets.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// A run began.
    RunStarted {
        /// The run's id (time-based, unique per state directory).
        run: String,
        /// When, RFC 3339.
        at: String,
        /// `apply`, `reconcile`.
        command: String,
        /// The target, as given on the command line.
        target: String,
        /// The desired revision (a git commit, or a digest of the files).
        revision: String,
        /// The OS user who ran it (empty when unknown, and in journals
        /// written before it was recorded).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        user: String,
        /// The git commit the desired files were taken from, `+dirty` when
        /// they differ from it; empty outside a git work tree.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        commit: String,
    },
    /// A step finished (applied, skipped, failed, timed out).
    Step {
        /// The run.
        run: String,
        /// When, RFC 3339.
        at: String,
        /// The step's id within its plan.
        step: u32,
        /// The step's action (`set_parents`, …).
        action: String,
        /// The member or pool.
        name: String,
        /// `applied`, `skipped`, `failed`, `timed_out`.
        outcome: String,
        /// Details: the reason of a failure, the parents written.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
    /// A run ended.
    RunFinished {
        /// The run.
        run: String,
        /// When, RFC 3339.
        at: String,
        /// `converged`, `not_converged`, `stranded`, `interrupted`, `error`.
        outcome: String,
        /// Steps applied in the run.
        applied: u64,
        /// Members left pending.
        pending: u64,
        /// Members (and the store) left blocked.
        blocked: u64,
    },
    /// A progressive rollout's memory after a pass that changed it
    /// (docs/rollouts.md): its step and phase, when the soak began, and
    /// every member it admitted with the parents it had before. The last
    /// one for a revision is where the next pass carries on.
    RolloutState {
        /// When, RFC 3339.
        at: String,
        /// The memory (its `revision` names the desired revision).
        state: Box<crate::plan::rollout::Memory>,
        /// What changed in the pass that wrote it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<crate::plan::rollout::Event>,
    },
    /// `handover resume`: a paused or stopped rollout may go on.
    RolloutResumed {
        /// When, RFC 3339.
        at: String,
        /// The OS user who ran it (empty when unknown).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        user: String,
    },
    /// A plan's changes were approved (`handover approve`, docs/gates.md).
    Approved {
        /// When, RFC 3339.
        at: String,
        /// The approval digest of the changes (`fnv1a64:…`).
        digest: String,
        /// The OS user who approved (empty when unknown).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        user: String,
        /// The target, as given to `approve` (empty when not given).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        target: String,
    },
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating) `<dir>/journal.jsonl` for appending.
    pub fn open(dir: &Path) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("journal.jsonl");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Journal { file, path })
    }

    /// Appends one record and syncs it to disk before returning.
    pub fn append(&mut self, r: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }

    /// Appends one record with a single `write`, without syncing: a process
    /// killed after this returns still leaves the record (the kernel has
    /// it); only a power cut may lose it before the next [`Journal::sync`].
    /// For group commit when records come faster than a disk can sync.
    pub fn append_unsynced(&mut self, r: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Syncs every record appended so far to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Appends several records and syncs once (records of steps that were
    /// already done, written together at the end of a pass).
    pub fn append_batch(&mut self, records: &[Record]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    /// The journal file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads every whole record of `<dir>/journal.jsonl`; a missing journal is
/// empty, and a torn or unreadable line is skipped.
pub fn read(dir: &Path) -> std::io::Result<Vec<Record>> {
    let path = dir.join("journal.jsonl");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if let Ok(r) = serde_json::from_str(&line) {
            out.push(r);
        }
    }
    Ok(out)
}

/// A new run id: the current UTC time to the millisecond plus the pid, so
/// ids sort by time and two processes never collide.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms}-{}", std::process::id())
}

/// The current time as RFC 3339 with milliseconds (UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_reads_back_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let start = Record::RunStarted {
            run: "r1".into(),
            at: "2026-11-26T15:00:00Z".into(),
            command: "apply".into(),
            target: "sim:estate.yaml".into(),
            revision: "abc".into(),
            user: "operator".into(),
            commit: "0123abcd+dirty".into(),
        };
        let step = Record::Step {
            run: "r1".into(),
            at: "2026-11-26T15:00:01Z".into(),
            step: 1,
            action: "set_parents".into(),
            name: "web01.dmz.contoso.local".into(),
            outcome: "applied".into(),
            detail: String::new(),
        };
        j.append(&start).unwrap();
        j.append(&step).unwrap();
        drop(j);
        // A crash in the middle of a write leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal.jsonl"))
            .unwrap();
        f.write_all(b"{\"event\":\"step\",\"run\":\"r1\",\"at")
            .unwrap();
        assert_eq!(read(dir.path()).unwrap(), vec![start, step]);
    }

    #[test]
    fn a_missing_journal_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("nope")).unwrap().is_empty());
    }
}
