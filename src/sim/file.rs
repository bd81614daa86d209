//! `sim:FILE`: the simulator as a persistent target (the file-system edge
//! of `sim`; the rest of the module does no I/O).
//!
//! Owns three files side by side:
//!
//! - `FILE`: the observed view as `kind: Observed` YAML, for people (and the
//!   starting point: a copy of an example's `observed.yaml`);
//! - `FILE.sim.json`: the snapshot: a header line (format, generation, the
//!   digest of the `FILE` text it was written with) and the full simulator
//!   state ([`Sim::save_json`]) on the second line;
//! - `FILE.sim.log`: an append-only log of every call made since that
//!   snapshot (apply an operation, observe, advance the clock to a time),
//!   one JSON object per line, headed by the snapshot's generation.
//!
//! The simulator is deterministic, so snapshot + replaying the log gives
//! exactly the state of the moment of the last logged call: a process
//! killed at any instant (even `kill -9`) leaves a consistent target. Each
//! log line is one `write` (a torn last line is ignored on replay); lines are
//! not fsync'd, so a power cut may lose a tail of the log, which rolls the
//! simulated estate back to an earlier consistent moment. [`SimFile::save`]
//! compacts: it writes the snapshot (generation + 1), then `FILE`, then a
//! fresh log, each atomically (temporary file, fsync, rename). A log whose
//! generation is not the snapshot's is stale and ignored, and a stale or
//! torn log is replaced when the target is opened for changes (appending
//! after a torn line would lose what is appended); a `FILE` whose
//! digest is the snapshot's previous one was not rewritten yet and is
//! rewritten, not taken for an edit. A hand edit that makes `FILE` invalid
//! (or that the simulated management group refuses) is an error naming
//! `file:line:column`, and leaves every file as it was: it is never
//! dropped, nor overwritten by the next save. Must not plan or know about
//! the executor.

use super::{Sim, SimConfig};
use crate::model::{MemberKind, Observed, ObservedMember};
use crate::name::Name;
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The snapshot format this build writes and reads.
const FORMAT: u32 = 1;

/// The first line of `FILE.sim.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    generation: u64,
    /// Digest of the `FILE` text written with this snapshot.
    file_digest: String,
    /// Digest of the `FILE` text of the previous snapshot (a crash between
    /// writing the snapshot and `FILE` leaves that one in place).
    #[serde(default)]
    prev_file_digest: Option<String>,
}

/// The first line of `FILE.sim.log`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LogHeader {
    generation: u64,
}

/// One logged call.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    /// `apply(op)` was called (whatever it answered).
    Apply(Operation),
    /// `observe` was called (it counts, and may draw from the random stream).
    Observe,
    /// The clock was advanced to this many milliseconds.
    AdvanceTo(u64),
}

/// Why a `sim:FILE` target could not be opened or saved.
#[derive(Debug, thiserror::Error)]
pub enum SimFileError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `FILE` is not a valid observed state (and there is no snapshot yet).
    #[error("{0}")]
    Observed(crate::diag::Diagnostics),
    /// `FILE` was edited by hand since handover last wrote it, and the edit
    /// is not a valid observed state.
    #[error(
        "{problems}\n{file}: this hand edit is not valid, so it was not taken: nothing was applied, and no file was changed; fix the lines above (`handover validate {file}` checks them)",
        file = file.display()
    )]
    Edited {
        /// `FILE`.
        file: PathBuf,
        /// What is wrong with it.
        problems: crate::diag::Diagnostics,
    },
    /// `FILE` was edited by hand, and the simulated management group
    /// refused one of the new parent lists, as the console would.
    #[error(
        "{file}: the hand edit of {kind} {name} was refused: {why}; nothing was applied, and no file was changed: fix its parents in {file}",
        file = file.display()
    )]
    EditRefused {
        /// `FILE`.
        file: PathBuf,
        /// The member's kind.
        kind: MemberKind,
        /// The member.
        name: Name,
        /// The simulator's reason.
        why: String,
    },
    /// The snapshot is unreadable.
    #[error(
        "{path}: {why}; move it aside to start the simulation again from {file}",
        file = file.display()
    )]
    Snapshot {
        /// The snapshot.
        path: PathBuf,
        /// `FILE`.
        file: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

/// How opening found the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// No snapshot yet: built from `FILE` (the learned configuration starts
    /// equal to the configured one).
    Fresh,
    /// Loaded from the snapshot, replaying this many logged calls.
    Resumed {
        /// Calls replayed from the log.
        replayed: usize,
    },
    /// `FILE` was edited by hand since the last save: the edited parents
    /// were applied as a console change would apply them (drift).
    Edited {
        /// Members whose configured parents were changed.
        changed: Vec<Name>,
    },
    /// `FILE` was edited in a way that is not a parent change (members or
    /// servers added or removed, up/ready changed): the simulation was
    /// rebuilt from it; what members had learned is lost.
    Rebuilt {
        /// What differs, in a few words.
        why: String,
    },
}

/// The simulator behind a `sim:FILE` target: a [`Sim`] whose every call is
/// logged beside `FILE`, so the target survives a crash.
#[derive(Debug)]
pub struct SimFile {
    sim: Sim,
    file: PathBuf,
    generation: u64,
    file_digest: String,
    /// `None` when opened read-only.
    log: Option<File>,
    /// The first log error, reported by [`SimFile::save`].
    log_error: Option<std::io::Error>,
}

/// The digest of `FILE`'s bytes (`fnv1a64:` and 16 hex digits).
fn fnv(bytes: &[u8]) -> String {
    crate::hash::fnv1a64_hex(bytes)
}

/// `FILE.sim.json`.
pub fn snapshot_path(file: &Path) -> PathBuf {
    suffixed(file, ".sim.json")
}

/// `FILE.sim.log`.
pub fn log_path(file: &Path) -> PathBuf {
    suffixed(file, ".sim.log")
}

fn suffixed(file: &Path, suffix: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimFileError + '_ {
    move |source| SimFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync'd, renamed over `path`, then the directory fsync'd.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl SimFile {
    /// Opens `sim:FILE` for changes: loads the snapshot and replays its log,
    /// or builds the simulation from `FILE` (with `seed`) when there is no
    /// snapshot; takes a hand edit of `FILE` into account (see [`Opened`]).
    /// The caller must hold the target's lock.
    pub fn open(file: &Path, seed: u64) -> Result<(SimFile, Opened), SimFileError> {
        let (mut sf, opened, dirty) = Self::load(file, seed)?;
        if dirty {
            // Fold the replayed log or the edit into a fresh snapshot.
            sf.save()?;
        } else {
            sf.open_log()?;
        }
        Ok((sf, opened))
    }

    /// Opens `sim:FILE` to read it (`export`): the same state as
    /// [`SimFile::open`] would give, but nothing is written and calls are
    /// not logged. Needs no lock.
    pub fn open_read_only(file: &Path, seed: u64) -> Result<(SimFile, Opened), SimFileError> {
        Self::load(file, seed).map(|(sf, opened, _)| (sf, opened))
    }

    /// Loads the target; the flag is true when the files on disk should be
    /// rewritten (a log to fold in, an edit, a `FILE` one save behind).
    fn load(file: &Path, seed: u64) -> Result<(SimFile, Opened, bool), SimFileError> {
        let text = std::fs::read(file).map_err(io(file))?;
        let digest = fnv(&text);
        let parse = || -> Result<Observed, SimFileError> {
            let s = String::from_utf8_lossy(&text);
            crate::load::observed_str(&s, &file.display().to_string())
                .map_err(SimFileError::Observed)
        };
        let snap = snapshot_path(file);
        let snap_text = match std::fs::read_to_string(&snap) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&snap)(e)),
        };
        let Some(snap_text) = snap_text else {
            let observed = parse()?;
            let sim = Sim::from_observed(&observed, SimConfig::seeded(seed));
            let sf = SimFile {
                sim,
                file: file.to_path_buf(),
                generation: 0,
                file_digest: String::new(),
                log: None,
                log_error: None,
            };
            return Ok((sf, Opened::Fresh, true));
        };
        let bad = |why: String| SimFileError::Snapshot {
            path: snap.clone(),
            file: file.to_path_buf(),
            why,
        };
        let (head, body) = snap_text
            .split_once('\n')
            .ok_or_else(|| bad("the snapshot has no state line".into()))?;
        let header: Header =
            serde_json::from_str(head).map_err(|e| bad(format!("bad header: {e}")))?;
        if header.format != FORMAT {
            return Err(bad(format!(
                "snapshot format {} (this handover reads {FORMAT})",
                header.format
            )));
        }
        let sim = Sim::load_json(body.trim_end()).map_err(|e| bad(e.to_string()))?;
        let mut sf = SimFile {
            sim,
            file: file.to_path_buf(),
            generation: header.generation,
            file_digest: header.file_digest.clone(),
            log: None,
            log_error: None,
        };
        let (replayed, clean) = sf.replay()?;
        if digest == header.file_digest {
            let dirty = replayed > 0 || !clean;
            return Ok((sf, Opened::Resumed { replayed }, dirty));
        }
        if header.prev_file_digest.as_deref() == Some(&digest) {
            // A crash after the snapshot, before FILE was rewritten: FILE is
            // ours, one save behind; the snapshot rules.
            return Ok((sf, Opened::Resumed { replayed }, true));
        }
        // Edited by hand since we last wrote it.
        let edited = parse().map_err(|e| match e {
            SimFileError::Observed(problems) => SimFileError::Edited {
                file: file.to_path_buf(),
                problems,
            },
            other => other,
        })?;
        let opened = sf.take_edit(&edited, seed)?;
        Ok((sf, opened, true))
    }

    /// Replays the log of the snapshot's generation; returns the calls
    /// replayed, and whether the log can be appended to as it is. A stale
    /// log (another generation) or a torn last line is ignored, and must be
    /// replaced (appending after it would lose what is appended).
    fn replay(&mut self) -> Result<(usize, bool), SimFileError> {
        let path = log_path(&self.file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, true)),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut lines = text.lines();
        let current = lines
            .next()
            .and_then(|l| serde_json::from_str::<LogHeader>(l).ok())
            .is_some_and(|h| h.generation == self.generation);
        if !current {
            return Ok((0, false));
        }
        let mut clean = text.ends_with('\n');
        let mut n = 0;
        for line in lines {
            let Ok(entry) = serde_json::from_str::<Entry>(line) else {
                clean = false; // a torn last line
                break;
            };
            match entry {
                Entry::Apply(op) => {
                    let _ = self.sim.apply_now(&op);
                }
                Entry::Observe => {
                    let _ = self.sim.observe_now(&Scope::Members(Vec::new()));
                }
                Entry::AdvanceTo(ms) => {
                    let now = self.sim.now_ms;
                    self.sim
                        .advance(Duration::from_millis(ms.saturating_sub(now)));
                }
            }
            n += 1;
        }
        Ok((n, clean))
    }

    /// Applies a hand edit of `FILE`: parent changes through the normal
    /// apply path; anything else rebuilds the simulation from the edit. A
    /// parent change the simulator refuses is an error (the caller then
    /// drops this state: nothing is written).
    fn take_edit(&mut self, edited: &Observed, seed: u64) -> Result<Opened, SimFileError> {
        let now = self.sim.snapshot(&Scope::All);
        if let Some(why) = structural_difference(&now, edited) {
            let config = SimConfig {
                seed,
                ..self.sim.config().clone()
            };
            let faults = config.faults.clone();
            self.sim = Sim::from_observed(edited, config.with_faults(faults));
            return Ok(Opened::Rebuilt { why });
        }
        let mut changed = Vec::new();
        for (kind, before, after) in [
            (MemberKind::Gateway, &now.gateways, &edited.gateways),
            (MemberKind::Agent, &now.agents, &edited.agents),
        ] {
            let was: BTreeMap<&Name, &ObservedMember> =
                before.iter().map(|m| (&m.name, m)).collect();
            for m in after {
                if was.get(&m.name).is_some_and(|w| w.parents != m.parents) {
                    let op = Operation::SetParents {
                        kind,
                        name: m.name.clone(),
                        parents: m.parents.clone(),
                    };
                    // A refused edit is said, not dropped: the console would
                    // refuse it too, and the file would be overwritten.
                    if let Err(e) = self.sim.apply_now(&op) {
                        return Err(SimFileError::EditRefused {
                            file: self.file.clone(),
                            kind,
                            name: m.name.clone(),
                            why: e.to_string(),
                        });
                    }
                    changed.push(m.name.clone());
                }
            }
        }
        Ok(Opened::Edited { changed })
    }

    fn open_log(&mut self) -> Result<(), SimFileError> {
        let path = log_path(&self.file);
        let exists = std::fs::metadata(&path).is_ok();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        if !exists {
            let mut line = serde_json::to_vec(&LogHeader {
                generation: self.generation,
            })
            .expect("header serialises");
            line.push(b'\n');
            f.write_all(&line).map_err(io(&path))?;
        }
        self.log = Some(f);
        Ok(())
    }

    fn record(&mut self, e: &Entry) {
        if let Some(f) = &mut self.log {
            let mut line = serde_json::to_vec(e).expect("log entries serialise");
            line.push(b'\n');
            // One write per line: a crash leaves whole lines, or a torn last one.
            if let Err(err) = f.write_all(&line)
                && self.log_error.is_none()
            {
                self.log_error = Some(err);
            }
        }
    }

    /// Compacts: writes the snapshot, `FILE` (the observed view) and a fresh
    /// log, each atomically, in an order that a crash at any point leaves
    /// readable (see the module doc). Also reports a log write that failed
    /// since the last save.
    pub fn save(&mut self) -> Result<(), SimFileError> {
        if let Some(e) = self.log_error.take() {
            return Err(io(&log_path(&self.file))(e));
        }
        let observed = crate::export::observed_yaml(&self.sim.snapshot(&Scope::All));
        let digest = fnv(observed.as_bytes());
        let header = Header {
            format: FORMAT,
            generation: self.generation + 1,
            file_digest: digest.clone(),
            prev_file_digest: Some(self.file_digest.clone()).filter(|d| !d.is_empty()),
        };
        let mut snap = serde_json::to_string(&header).expect("header serialises");
        snap.push('\n');
        snap.push_str(&self.sim.save_json());
        snap.push('\n');
        let sp = snapshot_path(&self.file);
        write_atomic(&sp, snap.as_bytes()).map_err(io(&sp))?;
        self.generation += 1;
        write_atomic(&self.file, observed.as_bytes()).map_err(io(&self.file))?;
        self.file_digest = digest;
        let lp = log_path(&self.file);
        let mut head = serde_json::to_vec(&LogHeader {
            generation: self.generation,
        })
        .expect("header serialises");
        head.push(b'\n');
        write_atomic(&lp, &head).map_err(io(&lp))?;
        self.log = None;
        self.open_log()
    }

    /// The simulation.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// `FILE`.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

/// What makes an edit more than a parent change, if anything.
fn structural_difference(a: &Observed, b: &Observed) -> Option<String> {
    let servers = |o: &Observed| -> BTreeSet<(Name, bool)> {
        o.management_servers
            .iter()
            .map(|s| (s.name.clone(), s.up))
            .collect()
    };
    if servers(a) != servers(b) {
        return Some("management servers added, removed, or their up state changed".into());
    }
    let gateways = |o: &Observed| -> BTreeSet<(Name, bool, bool)> {
        o.gateways
            .iter()
            .map(|g| (g.name.clone(), g.up, g.ready))
            .collect()
    };
    if gateways(a) != gateways(b) {
        return Some("gateways added, removed, or their up or ready state changed".into());
    }
    let agents =
        |o: &Observed| -> BTreeSet<Name> { o.agents.iter().map(|m| m.name.clone()).collect() };
    if agents(a) != agents(b) {
        return Some("agents added or removed".into());
    }
    if a.management_store != b.management_store {
        return Some("the Central Management Store changed".into());
    }
    None
}

impl Provider for SimFile {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        let r = self.sim.observe_now(scope);
        self.record(&Entry::Observe);
        r
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        let r = self.sim.apply_now(op);
        self.record(&Entry::Apply(op.clone()));
        r
    }
}

impl Clock for SimFile {
    fn now(&self) -> Duration {
        self.sim.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.sim.advance(d);
        let at = self.sim.now_ms;
        self.record(&Entry::AdvanceTo(at));
    }
}

impl crate::provider::Schedule for SimFile {
    fn next_scheduled(&self) -> Option<Duration> {
        self.sim.next_fault_at()
    }
}

impl crate::provider::Inspect for SimFile {
    fn stranded(&self) -> Vec<Name> {
        self.sim.stranded()
    }

    fn stranded_ever(&self) -> Vec<Name> {
        self.sim.stranded_ever()
    }

    fn settling(&self) -> bool {
        self.sim.is_settling()
    }
}

#[cfg(test)]
mod tests;
