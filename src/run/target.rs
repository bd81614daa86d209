//! Opening the `--target` of a command: one [`Target`] for every kind.
//!
//! Owns turning `--target`, `--target-arg` and `--provider-timeout` into a
//! [`TargetSpec`] (through `crate::provider::parse_target`, the one
//! parser), the default state directory of a target, and the
//! [`Target`] enum that dispatches [`Provider`], [`Clock`], [`Schedule`] and
//! [`Inspect`] to the simulator (`sim:FILE`) or an external program
//! (`exec:PROGRAM`), so `apply`, `export`, `plan` and `reconcile` are
//! written once. Must not plan, print (what opening noticed comes back as
//! [`Notes`]) or take locks itself.

use crate::execute::{Inspect, Schedule};
use crate::model::{Observed, Seconds};
use crate::name::Name;
use crate::provider::exec::{ExecConfig, ExecProvider};
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope, TargetSpec, parse_target};
use crate::sim::file::{Opened, SimFile};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Parses `--target` and appends each `--target-arg` verbatim to an
/// `exec:` program's arguments (never through a shell). `--target-arg` with
/// a `sim:` target is refused: it would be silently ignored.
pub fn spec(target: &str, target_args: &[String]) -> Result<TargetSpec, String> {
    let mut spec = parse_target(target).map_err(|e| format!("error: {e}"))?;
    match &mut spec {
        TargetSpec::Exec { args, .. } => args.extend(target_args.iter().cloned()),
        TargetSpec::Sim(_) if !target_args.is_empty() => {
            return Err(format!(
                "error: --target-arg is for exec: targets; {target} is the embedded simulator and takes no arguments"
            ));
        }
        TargetSpec::Sim(_) => {}
    }
    Ok(spec)
}

/// The file a target lives in (a `sim:` target's), for the default state
/// directory.
pub fn file(spec: &TargetSpec) -> Option<&Path> {
    match spec {
        TargetSpec::Sim(p) => Some(p),
        TargetSpec::Exec { .. } => None,
    }
}

/// The state directory: `explicit` (`--state-dir`), else `.handover/`
/// beside a `sim:` target's file, else `.handover/` in the working
/// directory (every `exec:` target).
pub fn state_dir(spec: &TargetSpec, explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::state::default_dir(file(spec)))
}

/// How to open a target.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Seed of a `sim:` target that has no saved state yet.
    pub seed: u64,
    /// `--provider-timeout`: the longest any one call to an `exec:` program
    /// may take (capabilities, observe, apply); `None` keeps the defaults of
    /// `docs/provider-protocol.md` (30 s, 10 min, 2 min).
    pub provider_timeout: Option<Seconds>,
    /// Where an `exec:` target opened to change it takes handover's earlier
    /// write times from ([`crate::run::writes`]); `None`: nowhere, none are
    /// known until this process writes.
    pub writes_from: Option<WritesFrom>,
}

/// The journal that holds a target's earlier write times.
#[derive(Clone, Debug, Default)]
pub struct WritesFrom {
    /// The state directory (`--state-dir`); `None`: the target's default
    /// ([`state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// The target as given on the command line, as the journal's
    /// `run_started` records name it.
    pub target: String,
}

/// An opened target: the embedded simulator or an external provider
/// program. Implements [`Provider`], [`Clock`], [`Schedule`] and
/// [`Inspect`] by dispatch, so the executor, `apply::run` and the reconcile
/// loop take it like any single target.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per command: boxing buys nothing
pub enum Target {
    /// `sim:FILE`: the simulator, persisted in FILE and beside it.
    Sim(SimFile),
    /// `exec:PROGRAM [ARGS...]`: a program run once per request.
    Exec(ExecProvider),
}

/// What opening a target noticed, for the command to tell the person.
pub type Notes = Vec<String>;

impl Target {
    /// Opens a target to change it. The caller must hold its lock
    /// ([`crate::state::lock::TargetLock::acquire_target`]). Nothing is
    /// called on an `exec:` program yet.
    pub fn open(spec: &TargetSpec, opts: &OpenOptions) -> Result<(Target, Notes), String> {
        match spec {
            TargetSpec::Sim(file) => {
                let (sf, opened) =
                    SimFile::open(file, opts.seed).map_err(|e| format!("error: {e}"))?;
                Ok((Target::Sim(sf), notes(file, &opened)))
            }
            TargetSpec::Exec { .. } => {
                let mut provider = exec(spec, opts);
                if let Some(from) = &opts.writes_from {
                    seed_writes(&mut provider, spec, from);
                }
                Ok((Target::Exec(provider), Vec::new()))
            }
        }
    }

    /// Opens a target to read it (`plan --target`, `export`): a `sim:`
    /// target is opened read-only (no lock, nothing written); an `exec:`
    /// program is only ever asked to observe.
    pub fn open_read_only(
        spec: &TargetSpec,
        opts: &OpenOptions,
    ) -> Result<(Target, Notes), String> {
        match spec {
            TargetSpec::Sim(file) => {
                let (sf, opened) =
                    SimFile::open_read_only(file, opts.seed).map_err(|e| format!("error: {e}"))?;
                Ok((Target::Sim(sf), notes(file, &opened)))
            }
            TargetSpec::Exec { .. } => Ok((Target::Exec(exec(spec, opts)), Vec::new())),
        }
    }

    /// Gives an `exec:` program's `store_failover` calls the topology's
    /// `policy.storeTimeout` (the simulator needs none).
    pub fn set_store_timeout(&mut self, t: Seconds) {
        if let Target::Exec(e) = self {
            e.set_store_timeout(Duration::from_secs(t.0));
        }
    }

    /// Persists what the run changed: a `sim:` target's snapshot; nothing
    /// for an `exec:` target (the program keeps its own state).
    pub fn save(&mut self) -> Result<(), String> {
        match self {
            Target::Sim(s) => s.save().map_err(|e| e.to_string()),
            Target::Exec(_) => Ok(()),
        }
    }
}

fn exec(spec: &TargetSpec, opts: &OpenOptions) -> ExecProvider {
    let TargetSpec::Exec { program, args } = spec else {
        unreachable!("called for exec: targets only")
    };
    let mut config = ExecConfig::default();
    if let Some(t) = opts.provider_timeout {
        let d = Duration::from_secs(t.0);
        config.capabilities_timeout = d;
        config.observe_timeout = d;
        config.apply_timeout = d;
    }
    ExecProvider::new(program.clone(), args.clone(), config)
}

/// Gives `provider` the write times the journal of `from` holds for its
/// target. A journal that cannot be read is logged and passed over: no
/// write time is then known, as before the journal was read.
fn seed_writes(provider: &mut ExecProvider, spec: &TargetSpec, from: &WritesFrom) {
    let dir = state_dir(spec, from.state_dir.as_deref());
    match crate::run::writes::from_journal(&dir, &from.target) {
        Ok(writes) => {
            tracing::debug!(members = writes.len(), journal = %dir.display(), "write times seeded from the journal");
            for (member, at) in writes {
                provider.remember_write(&member, at);
            }
        }
        Err(e) => tracing::warn!(
            error = %e,
            journal = %dir.display(),
            "cannot read the journal: evidence is judged without handover's earlier write times"
        ),
    }
}

fn notes(file: &Path, opened: &Opened) -> Notes {
    match opened {
        Opened::Edited { changed } if !changed.is_empty() => vec![format!(
            "note: {} was edited by hand: applied the new parents of {} member(s) as a console change would",
            file.display(),
            changed.len()
        )],
        Opened::Rebuilt { why } => vec![format!(
            "note: {} was edited by hand ({why}): the simulation was rebuilt from it",
            file.display()
        )],
        _ => Vec::new(),
    }
}

impl Provider for Target {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        match self {
            Target::Sim(s) => s.observe(scope).await,
            Target::Exec(e) => e.observe(scope).await,
        }
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        match self {
            Target::Sim(s) => s.apply(op).await,
            Target::Exec(e) => e.apply(op).await,
        }
    }

    async fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ProviderError>>, ProviderError> {
        match self {
            Target::Sim(s) => s.apply_batch(ops).await,
            Target::Exec(e) => e.apply_batch(ops).await,
        }
    }

    fn max_batch(&self) -> usize {
        match self {
            Target::Sim(s) => s.max_batch(),
            Target::Exec(e) => e.max_batch(),
        }
    }

    fn counters(&self) -> crate::provider::ProviderCounters {
        match self {
            Target::Sim(s) => s.counters(),
            Target::Exec(e) => e.counters(),
        }
    }
}

impl Clock for Target {
    fn now(&self) -> Duration {
        match self {
            Target::Sim(s) => s.now(),
            Target::Exec(e) => e.now(),
        }
    }

    async fn sleep(&mut self, d: Duration) {
        match self {
            Target::Sim(s) => s.sleep(d).await,
            Target::Exec(e) => e.sleep(d).await,
        }
    }
}

impl Schedule for Target {
    fn next_scheduled(&self) -> Option<Duration> {
        match self {
            Target::Sim(s) => s.next_scheduled(),
            Target::Exec(e) => e.next_scheduled(),
        }
    }
}

impl Inspect for Target {
    fn stranded(&self) -> Vec<Name> {
        match self {
            Target::Sim(s) => s.stranded(),
            Target::Exec(e) => e.stranded(),
        }
    }

    fn settling(&self) -> bool {
        match self {
            Target::Sim(s) => s.settling(),
            Target::Exec(e) => e.settling(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_args_are_appended_verbatim_and_refused_for_sim() {
        let s = spec("exec:./p --a", &["has space".into(), "$(x)".into()]).unwrap();
        assert_eq!(
            s,
            TargetSpec::Exec {
                program: "./p".into(),
                args: vec!["--a".into(), "has space".into(), "$(x)".into()]
            }
        );
        assert!(
            spec("sim:e.yaml", &["x".into()])
                .unwrap_err()
                .contains("exec:")
        );
        assert!(spec("scom:x", &[]).unwrap_err().contains("expected"));
    }

    #[test]
    fn locks_are_keyed_by_the_whole_target() {
        use crate::state::lock::LockKey;
        let key = |t: &str, extra: &[String]| {
            LockKey::resolve(&spec(t, extra).unwrap(), Path::new("/w"), None).file_name()
        };
        let a = key("exec:/opt/p --state a", &[]);
        let b = key("exec:/opt/p --state b", &[]);
        assert!(a.starts_with("exec-p-") && a.ends_with(".lock"), "{a}");
        assert_ne!(a, b);
        // Words of the target and --target-arg are the same arguments.
        assert_eq!(a, key("exec:/opt/p", &["--state".into(), "a".into()]));
    }

    #[test]
    fn exec_targets_keep_state_in_the_working_directory() {
        let s = spec("exec:/opt/p", &[]).unwrap();
        assert_eq!(state_dir(&s, None), PathBuf::from(".handover"));
        assert_eq!(
            state_dir(&TargetSpec::Sim("d/e.yaml".into()), None),
            PathBuf::from("d/.handover")
        );
        assert_eq!(state_dir(&s, Some(Path::new("z"))), PathBuf::from("z"));
    }
}
