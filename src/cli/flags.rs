//! Flags shared by several commands, each defined and documented once
//! here, and turned into the plain values [`handover::run`] takes.
//!
//! Owns the one duration parser ([`parse_duration`]), the forecast's
//! `--cost` ([`parse_cost`], [`cost`]), the target of a
//! command that changes or reads one ([`TargetFlags`]), the etcd settings of
//! `reconcile --ha` and `history --ha` ([`EtcdFlags`]), and the flags of a
//! command that may observe a target instead of reading an `--observed`
//! file ([`ObserveArgs`], with the one read-only observation
//! [`observe_read_only`] that prints the notes of opening the target).
//! Must not plan or apply.

use handover::diag::Diagnostics;
use handover::model::{Observed, Seconds, Topology};
use handover::provider::TargetSpec;
use handover::provider::{Provider, Scope};
use handover::run::target::{self, OpenOptions, Target};
use std::path::{Path, PathBuf};

/// Parses `30s`, `15m`, `2h` for every duration flag.
pub fn parse_duration(s: &str) -> Result<Seconds, String> {
    Seconds::parse(s)
        .map_err(|_| format!("{s:?} is not a duration: a whole number followed by s, m or h"))
}

/// Checks `--cost startup=5s,call=1s,...` (the forecast's figures); the
/// text is kept and applied over `policy.cost` by [`cost`].
pub fn parse_cost(s: &str) -> Result<String, String> {
    handover::model::Cost::default()
        .with_flag(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The forecast's cost model: `policy.cost`, with `--cost` over it.
pub fn cost(policy: &handover::model::Policy, flag: Option<&str>) -> handover::model::Cost {
    match flag {
        // Checked by `parse_cost` when the flag was read.
        Some(f) => policy.cost.with_flag(f).unwrap_or(*policy.cost),
        None => *policy.cost,
    }
}

/// The target of `apply`, `reconcile` and `export`, flattened into their
/// `Args`: `--target`, `--target-arg` and `--provider-timeout`.
#[derive(clap::Args, Debug)]
pub struct TargetFlags {
    /// The target: `sim:FILE` (the embedded simulator; FILE starts as an
    /// observed.yaml and moves on with each change; `export` only reads
    /// it) or `exec:PROGRAM [ARGS...]` (a provider program, run directly
    /// once per request; see docs/provider-protocol.md).
    #[arg(id = "target", long = "target", value_name = "TARGET")]
    pub name: String,
    /// One more argument for an `exec:` program, passed verbatim (never
    /// through a shell; spaces and quotes kept). Repeatable, in order.
    #[arg(
        id = "target_arg",
        long = "target-arg",
        value_name = "ARG",
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
    /// The longest any one call to an `exec:` program may take (`30s`,
    /// `15m`); the program is killed when it expires. Default: 30s for
    /// capabilities, 10m for observe, 2m for apply.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub provider_timeout: Option<Seconds>,
}

impl TargetFlags {
    /// The target, parsed, with `--target-arg` appended
    /// ([`target::spec`]).
    pub fn spec(&self) -> Result<TargetSpec, String> {
        target::spec(&self.name, &self.args)
    }

    /// How to open it; `seed` is that of a `sim:` target with no saved
    /// state yet. An `exec:` target opened to change it takes its earlier write times
    /// from the journal in its default state directory; a command with
    /// `--state-dir` sets [`OpenOptions::writes_from`] to that directory.
    pub fn open_options(&self, seed: u64) -> OpenOptions {
        OpenOptions {
            seed,
            provider_timeout: self.provider_timeout,
            writes_from: Some(target::WritesFrom {
                state_dir: None,
                target: self.name.clone(),
            }),
        }
    }
}

/// How to reach a secured etcd; shared by `reconcile --ha` and
/// `history --ha`.
#[derive(clap::Args, Debug, Default)]
pub struct EtcdFlags {
    /// With an etcds:// address: the PEM certificate of the CA that signed
    /// etcd's server certificate.
    #[arg(long, value_name = "FILE", requires = "ha")]
    pub ha_ca: Option<std::path::PathBuf>,
    /// With an etcds:// address: this replica's client certificate (PEM),
    /// for an etcd run with --client-cert-auth; with --ha-key.
    #[arg(long, value_name = "FILE", requires = "ha")]
    pub ha_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --ha-cert.
    #[arg(long, value_name = "FILE", requires = "ha")]
    pub ha_key: Option<std::path::PathBuf>,
    /// An etcd user (etcd's authentication); its password is read from
    /// the environment variable HANDOVER_ETCD_PASSWORD, never from the
    /// command line.
    #[arg(long, value_name = "NAME", requires = "ha")]
    pub ha_user: Option<String>,
}

impl EtcdFlags {
    /// The settings, with the password from the environment.
    pub fn security(&self) -> handover::ha::secure::Security {
        handover::ha::secure::Security {
            ca: self.ha_ca.clone(),
            cert: self.ha_cert.clone(),
            key: self.ha_key.clone(),
            user: self.ha_user.clone(),
            password: self
                .ha_user
                .as_ref()
                .and_then(|_| std::env::var(handover::ha::secure::PASSWORD_ENV).ok()),
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
    let spec = handover::run::target::spec(target, target_args)?;
    let (mut t, notes) = Target::open_read_only(&spec, opts)?;
    for n in notes {
        eprintln!("{n}");
    }
    let runtime = handover::run::runtime()?;
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
    #[arg(long, value_name = "DURATION", requires = "target", value_parser = parse_duration)]
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

/// The desired topology and the observed state, each loaded or with
/// what stopped it.
pub type Sources = (Result<Topology, Diagnostics>, Result<Observed, String>);

/// [`topology_and_source`] for a command that needs one of `--observed`
/// and `--target` (clap makes sure of it), both loaded. `Err` is the text
/// to print: what [`ObserveArgs::check`] refuses in the flags, or every
/// problem of the topology and of the observed state (both, one after the
/// other, when both have some).
pub fn topology_and_required_source(
    desired: &[PathBuf],
    observed: Option<&Path>,
    args: &ObserveArgs,
    seed: u64,
) -> Result<(Topology, Observed), String> {
    args.check()?;
    let (desired, observed) = topology_and_source(desired, observed, args, seed)
        .unwrap_or_else(|| unreachable!("clap requires --observed or --target"));
    match (desired, observed) {
        (Ok(t), Ok(o)) => Ok((t, o)),
        (t, o) => {
            let problems: Vec<String> = [t.err().map(|d| d.to_string()), o.err()]
                .into_iter()
                .flatten()
                .collect();
            Err(problems.join("\n"))
        }
    }
}

/// The journal a command reads or writes (`history`): `--state-dir`, or
/// the state directory beside `--target`, flattened into its `Args`.
#[derive(clap::Args, Debug)]
pub struct JournalArgs {
    /// The state directory; default `.handover/` beside the target's file
    /// (or in the working directory without `--target`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The target the runs were against (picks the state directory beside
    /// a `sim:` file; `history` lists only its runs).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
}

impl JournalArgs {
    /// The state directory ([`journal_dir`]), its problem printed on
    /// stderr: `None` when there was one (the command exits 1).
    pub fn dir(&self) -> Option<PathBuf> {
        journal_dir(self.target.as_deref(), self.state_dir.as_deref())
            .inspect_err(|e| eprintln!("{e}"))
            .ok()
    }
}

/// Where `approve` and `resume` record for the leader of `reconcile --ha`
/// instead of a journal, flattened into their `Args`: `--ha URL --group
/// NAME` and etcd's TLS and user flags.
#[derive(clap::Args, Debug)]
pub struct HaRecordArgs {
    /// Record it in the etcd of `reconcile --ha`
    /// (`etcd://HOST:PORT[,...][/PREFIX]`) instead of a journal: the
    /// group's leader reads it at its next pass. Needs --group.
    #[arg(
        long,
        value_name = "URL",
        requires = "group",
        conflicts_with = "state_dir"
    )]
    pub ha: Option<String>,
    /// With --ha: the management group (`metadata.name` of the topology;
    /// `default` when it has none).
    #[arg(long, value_name = "NAME", requires = "ha")]
    pub group: Option<String>,
    /// TLS and user settings for etcd.
    #[command(flatten)]
    pub etcd: EtcdFlags,
}

impl HaRecordArgs {
    /// The etcd URL and the group, when `--ha` was given (clap makes
    /// `--group` come with it).
    pub fn etcd_group(&self) -> Option<(&str, &str)> {
        self.ha.as_deref().zip(self.group.as_deref())
    }
}

/// Where a command that plans reads its states from (`plan`, `graph`,
/// `simulate`), flattened into its `Args`: `--desired`, and `--observed`
/// or the flags of [`ObserveArgs`]. The command's own argument group says
/// whether one of `--observed` and `--target` is required.
#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// The desired topology: a file, or a directory of `*.yaml`/`*.yml`
    /// (repeatable).
    #[arg(long, required = true, value_name = "PATH")]
    pub desired: Vec<PathBuf>,
    /// The observed state (`kind: Observed`), e.g. from `handover export`.
    /// At most one of `--observed` and `--target`.
    #[arg(long, value_name = "FILE")]
    pub observed: Option<PathBuf>,
    /// `--target`, `--target-arg`, `--provider-timeout`: a live, read-only
    /// observation of the estate instead of a file.
    #[command(flatten)]
    pub observe: ObserveArgs,
}

impl SourceArgs {
    /// [`topology_and_required_source`], its problems printed on stderr:
    /// `None` when there were any (the command exits 1).
    pub fn inputs(&self, seed: u64) -> Option<(Topology, Observed)> {
        topology_and_required_source(&self.desired, self.observed.as_deref(), &self.observe, seed)
            .inspect_err(|e| eprintln!("{e}"))
            .ok()
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
) -> Option<Sources> {
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
) -> Sources {
    let opts = OpenOptions {
        seed,
        provider_timeout: args.provider_timeout,
        writes_from: None,
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

/// The journal's directory for a command that reads or writes the journal
/// without opening the target (`history`, `resume`, `approve`):
/// `--state-dir`, else the target's own (beside a `sim:` file), else
/// `.handover`. `Err` when `--target` does not parse.
pub fn journal_dir(target_arg: Option<&str>, state_dir: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(d) = state_dir {
        return Ok(d.to_path_buf());
    }
    let spec = target_arg.map(|t| target::spec(t, &[])).transpose()?;
    Ok(handover::state::default_dir(
        spec.as_ref().and_then(target::file),
    ))
}
