//! Opening the `--target` of a command: one [`Target`] for every kind.
//!
//! Owns turning `--target`, `--target-arg` and `--provider-timeout` into a
//! [`TargetSpec`] (through `handover::provider::parse_target`, the one
//! parser), the default state directory of a target, and the
//! [`Target`] enum that dispatches [`Provider`], [`Clock`], [`Schedule`] and
//! [`Inspect`] to the simulator (`sim:FILE`) or an external program
//! (`exec:PROGRAM`), so `apply`, `export`, `plan` and `reconcile` are
//! written once; and the one read-only observation ([`observe_read_only`],
//! with its flags [`ObserveArgs`]) that `plan`, `export`, `graph` and
//! `simulate` take instead of an `--observed` file. Must not plan, print
//! (beyond the notes of opening a target) or take locks itself.

use handover::diag::Diagnostics;
use handover::execute::{Inspect, Schedule};
use handover::model::{Observed, Seconds, Topology};
use handover::name::Name;
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::{
    Clock, Operation, Provider, ProviderError, Scope, TargetSpec, parse_target,
};
use handover::sim::file::{Opened, SimFile};
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
        .unwrap_or_else(|| handover::state::default_dir(file(spec)))
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
    /// (`handover::state::lock::TargetLock::acquire_target`). Nothing is
    /// called on an `exec:` program yet.
    pub fn open(spec: &TargetSpec, opts: &OpenOptions) -> Result<(Target, Notes), String> {
        match spec {
            TargetSpec::Sim(file) => {
                let (sf, opened) =
                    SimFile::open(file, opts.seed).map_err(|e| format!("error: {e}"))?;
                Ok((Target::Sim(sf), notes(file, &opened)))
            }
            TargetSpec::Exec { .. } => Ok((Target::Exec(exec(spec, opts)), Vec::new())),
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

/// Observes a whole target read-only, for `plan --target` and `export`:
/// opens it with [`Target::open_read_only`], prints its notes on stderr,
/// and observes once on a small runtime of its own.
pub fn observe_read_only(
    target: &str,
    target_args: &[String],
    opts: &OpenOptions,
) -> Result<Observed, String> {
    let spec = spec(target, target_args)?;
    let (mut t, notes) = Target::open_read_only(&spec, opts)?;
    for n in notes {
        eprintln!("{n}");
    }
    let runtime = super::runtime()?;
    runtime
        .block_on(t.observe(&Scope::All))
        .map_err(|e| format!("error: cannot observe {target}: {e}"))
}

/// The flags of a command that may observe a target instead of reading an
/// `--observed` file (`plan`, `graph`, `simulate`), flattened into its `Args`. The
/// command's own argument group makes `--target` and `--observed`
/// exclusive.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ObserveArgs {
    /// Observe this target once, read-only, instead of reading
    /// `--observed`: `sim:FILE` (no lock taken, nothing written) or
    /// `exec:PROGRAM [ARGS...]` (only `observe` is asked). Nothing is ever
    /// applied to it.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// One more argument for an `exec:` program, passed verbatim (never
    /// through a shell). Repeatable, in order.
    #[arg(
        long = "target-arg",
        value_name = "ARG",
        requires = "target",
        allow_hyphen_values = true
    )]
    pub target_arg: Vec<String>,
    /// The longest the `exec:` program's observe may take (`30s`, `15m`);
    /// default 10m.
    #[arg(long, value_name = "DURATION", requires = "target", value_parser = super::apply::parse_duration)]
    pub provider_timeout: Option<Seconds>,
}

impl ObserveArgs {
    /// Refuses `--target-arg` or `--provider-timeout` without `--target`.
    /// clap lets them through beside `--observed` (its `requires` gives way
    /// to the conflict between `--observed` and `--target`), and they would
    /// be ignored without a word.
    pub fn check(&self) -> Result<(), String> {
        if self.target.is_some() {
            return Ok(());
        }
        let given: Vec<&str> = [
            (!self.target_arg.is_empty()).then_some("--target-arg"),
            self.provider_timeout
                .is_some()
                .then_some("--provider-timeout"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (need, it) = if given.len() == 1 {
            ("needs", "it")
        } else {
            ("need", "them")
        };
        if given.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "error: {} {need} --target; leave {it} out, or observe a target with --target instead of reading --observed",
                given.join(" and ")
            ))
        }
    }
}

/// The desired topology and the observed state a command starts from:
/// the `--observed` file (read beside the topology), or one read-only
/// observation of `--target` ([`topology_and_observation`]). `None` when
/// neither is given.
pub fn topology_and_source(
    desired: &[PathBuf],
    observed: Option<&Path>,
    args: &ObserveArgs,
    seed: u64,
) -> Option<(Result<Topology, Diagnostics>, Result<Observed, String>)> {
    match (observed, &args.target) {
        (Some(file), _) => {
            let (d, o) = handover::load::both(desired, file);
            Some((d, o.map_err(|d| d.to_string())))
        }
        (None, Some(t)) => Some(topology_and_observation(desired, t, args, seed)),
        (None, None) => None,
    }
}

/// Loads the desired topology while `target` is observed read-only
/// ([`observe_read_only`]) on a thread of its own, so a slow provider and a
/// large topology take the time of the slower, and a mistake in the
/// topology and a failed observation are both reported in one run. `seed`
/// is that of a `sim:` target with no saved state yet.
pub fn topology_and_observation(
    desired: &[PathBuf],
    target: &str,
    args: &ObserveArgs,
    seed: u64,
) -> (Result<Topology, Diagnostics>, Result<Observed, String>) {
    let opts = OpenOptions {
        seed,
        provider_timeout: args.provider_timeout,
    };
    std::thread::scope(|s| {
        let observed = s.spawn(|| observe_read_only(target, &args.target_arg, &opts));
        let desired = handover::load::topology(desired);
        let observed = observed
            .join()
            .unwrap_or_else(|_| Err(format!("error: observing {target} stopped unexpectedly")));
        (desired, observed)
    })
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

    fn counters(&self) -> handover::provider::ProviderCounters {
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
        use handover::state::lock::LockKey;
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
