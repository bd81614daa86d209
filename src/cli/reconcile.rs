//! `handover reconcile`: keep a target equal to a desired topology (a path
//! or a git repository), pass after pass, or once with `--once`.
//!
//! The edge around [`handover::reconcile::drive`]: flags, the target's lock
//! (held for the whole run), logs, signals, the HTTP listener, and the pass
//! itself: open the target, observe the whole estate, plan, and (unless
//! suspended) apply with the journal through [`handover::apply::run`], then
//! save the target. Exit codes with `--once`: 0 converged, 3 pending,
//! blocked, suspended with changes or interrupted (all safe), 4 a member
//! stranded, 1 errors. Forever mode exits 0 on SIGTERM/SIGINT.

use super::exit;
use super::target;
use super::target::{OpenOptions, Target};
use clap::Args as ClapArgs;
use handover::apply::{self, Outcome, RunInfo};
use handover::execute::{ExecOptions, Inspect};
use handover::model::Seconds;
use handover::provider::TargetSpec;
use handover::provider::{Provider, Scope};
use handover::reconcile::listen::{self, Endpoints};
use handover::reconcile::status::ErrorKind;
use handover::reconcile::{
    Backoff, Debounce, DriverConfig, Fetcher, Jitter, LiveHandle, LogFormat, Metrics, PassContext,
    PassResult, Shutdown, Source, StatusHandle, Watch, drive, logs, signals,
};
use handover::state::journal::{self, Journal};
use handover::state::lock::TargetLock;
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `handover reconcile`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Where to reconcile: `sim:FILE` (the embedded simulator; FILE starts
    /// as an observed.yaml and moves on with each pass) or `exec:PROGRAM
    /// [ARGS...]` (a provider program, run directly once per request; see
    /// docs/provider-protocol.md).
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// One more argument for an `exec:` program, passed verbatim (never
    /// through a shell). Repeatable, in order.
    #[arg(long = "target-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub target_arg: Vec<String>,
    /// The longest any one call to an `exec:` program may take (`30s`,
    /// `15m`); the program is killed when it expires.
    #[arg(long, value_name = "DURATION", value_parser = super::apply::parse_duration)]
    pub provider_timeout: Option<handover::model::Seconds>,
    /// Desired topology: a file, or a directory of `*.yaml`/`*.yml`;
    /// watched for changes (a save triggers a pass).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "git",
        required_unless_present = "git"
    )]
    pub desired: Option<PathBuf>,
    /// A git repository (local path or URL) holding the desired topology;
    /// fetched with `git` every interval.
    #[arg(long, value_name = "REPO")]
    pub git: Option<String>,
    /// Branch, tag or commit to follow (default: the default branch).
    #[arg(long = "ref", value_name = "REF", requires = "git")]
    pub reference: Option<String>,
    /// The file or directory inside the repository (default: its root).
    #[arg(long, value_name = "P", requires = "git")]
    pub path: Option<PathBuf>,
    /// Time between passes and fetches (`30s`, `3m`, `1h`), ±10 % jitter.
    #[arg(long, value_name = "DURATION", default_value = "3m", value_parser = parse_duration)]
    pub interval: Seconds,
    /// One pass, then exit with the code of `apply`.
    #[arg(long)]
    pub once: bool,
    /// Serve the status page (/) and /healthz, /readyz, /metrics and
    /// /status on ADDR (IP:PORT, [IPv6]:PORT or localhost:PORT;
    /// 127.0.0.1:9464 when given no value).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
    pub listen: Option<String>,
    /// Allow a --listen address that is not loopback (the endpoints have no
    /// authentication).
    #[arg(long)]
    pub listen_non_loopback: bool,
    /// While this file exists, observe and report but apply nothing.
    #[arg(long, value_name = "PATH")]
    pub suspend_file: Option<PathBuf>,
    /// Journal and git cache; default `.handover/` beside the target's
    /// file. The lock is host-wide, keyed by the target
    /// (`HANDOVER_LOCK_DIR`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Logs on stderr: `text`, or `json` (one object per line). Filter with
    /// HANDOVER_LOG (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seed of a new `sim:` target, of the backoff jitter and of the
    /// interval jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run as one of several replicas coordinated through etcd
    /// (`etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`, prefix `/handover` by
    /// default; `etcds://` for TLS, with --ha-ca): one leader per management group applies, standbys observe
    /// and serve /status. The target's file lock is not taken. See
    /// docs/operations.md, "High availability".
    #[arg(long, value_name = "URL", conflicts_with = "once")]
    pub ha: Option<String>,
    /// With --ha: the lease TTL (`2s`, `10s`): a leader that stops
    /// answering (killed, paused, cut off from etcd) loses leadership after
    /// at most this long, and a standby takes over.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "ha")]
    pub ha_ttl: Seconds,
    /// With --ha: this replica's identity in etcd and the journal
    /// (default `hostname:pid`).
    #[arg(long, value_name = "ID", requires = "ha")]
    pub ha_id: Option<String>,
    /// TLS and user settings for etcd.
    #[command(flatten)]
    pub etcd: super::reconcile_ha::EtcdFlags,
}

fn parse_duration(s: &str) -> Result<Seconds, String> {
    Seconds::parse(s)
        .map_err(|_| format!("{s:?} is not a duration: a whole number followed by s, m or h"))
}

/// Opens the target for one pass. Reopened every pass, so a hand edit of a
/// `sim:` target's file (drift) is seen, and put back, by the next pass.
pub(super) fn open_target(spec: &TargetSpec, opts: &OpenOptions) -> Result<Target, String> {
    let (target, notes) = Target::open(spec, opts)?;
    // Opening notes are changes made outside handover: drift, which this
    // pass puts back.
    for n in notes {
        tracing::warn!("drift: {n}");
    }
    Ok(target)
}

// ---------------------------------------------------------------------

/// What the pass needs besides its context.
pub(super) struct PassEnv {
    pub(super) spec: TargetSpec,
    pub(super) open: OpenOptions,
    pub(super) target: String,
    pub(super) state_dir: PathBuf,
    pub(super) seed: u64,
    /// What the status page shows while the pass runs.
    pub(super) live: LiveHandle,
    /// With `--ha`: the pass is [`super::reconcile_ha::pass`].
    pub(super) ha: Option<handover::ha::Ha>,
}

/// Marks the status page's pass as over however the pass returns.
pub(super) struct IdleOnDrop<'a>(pub(super) &'a LiveHandle);

impl Drop for IdleOnDrop<'_> {
    fn drop(&mut self) {
        self.0.idle();
    }
}

/// How the last pass ended, for `--once`'s exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Converged,
    NotConverged,
    Interrupted,
    Stranded,
}

impl Verdict {
    fn exit_code(self) -> u8 {
        match self {
            Verdict::Converged => exit::OK,
            Verdict::NotConverged | Verdict::Interrupted => exit::NOT_CONVERGED,
            Verdict::Stranded => exit::STRANDED,
        }
    }
}

pub(super) fn fail(kind: ErrorKind, message: String) -> PassResult {
    tracing::error!(kind = kind.as_str(), "{message}");
    PassResult {
        error: Some((kind, message)),
        ..PassResult::default()
    }
}

/// A pass that could not open or observe the target (`what`): an observe
/// error, named with the target, for the status and the backoff.
pub(super) fn observe_failed(env: &PassEnv, what: &str, e: impl std::fmt::Display) -> PassResult {
    fail(
        ErrorKind::Observe,
        format!("cannot {what} {}: {e}", env.target),
    )
}

/// Observes the whole estate through `target` and plans against it; the
/// plan goes to the status page at once.
pub(super) async fn observe_and_plan<P: Provider>(
    env: &PassEnv,
    ctx: &PassContext<'_>,
    target: &mut P,
) -> Result<(handover::model::Observed, handover::plan::Plan), handover::provider::ProviderError> {
    let start = target.observe(&Scope::All).await?;
    let plan = handover::plan::plan(ctx.topology, &start);
    env.live.planned(&plan, &start);
    Ok((start, plan))
}

/// The local journal, or `None` when it cannot be opened: the pass then
/// applies without it, and says so.
pub(super) fn open_journal(env: &PassEnv) -> Option<Journal> {
    Journal::open(&env.state_dir)
        .inspect_err(|e| {
            tracing::warn!(error = %e, dir = %env.state_dir.display(), "cannot open the journal; applying without it");
        })
        .ok()
}

/// One pass: open, observe, plan, apply (unless suspended), save.
async fn pass(env: &PassEnv, ctx: PassContext<'_>, verdict: &Cell<Option<Verdict>>) -> PassResult {
    if let Some(ha) = &env.ha {
        return super::reconcile_ha::pass(env, ha, ctx).await;
    }
    verdict.set(None);
    env.live.planning(ctx.pass);
    let _idle = IdleOnDrop(&env.live);
    let mut sim = match open_target(&env.spec, &env.open) {
        Ok(s) => s,
        Err(e) => {
            return observe_failed(env, "open", e);
        }
    };
    let (start, plan) = match observe_and_plan(env, &ctx, &mut sim).await {
        Ok(p) => p,
        Err(e) => return observe_failed(env, "observe", e),
    };
    tracing::info!(
        steps = plan.steps.len(),
        blocked = plan.blocked.len(),
        changes = plan.summary.changes,
        suspended = ctx.suspended,
        "planned"
    );
    if ctx.suspended || plan.steps.is_empty() {
        let stranded = sim.stranded();
        let saved = sim.save();
        verdict.set(Some(if !stranded.is_empty() {
            Verdict::Stranded
        } else if plan.steps.is_empty() && plan.blocked.is_empty() {
            Verdict::Converged
        } else {
            Verdict::NotConverged
        }));
        return PassResult {
            plan: Some(plan),
            report: None,
            stranded: stranded.len() as u64,
            converged: false,
            error: saved
                .err()
                .map(|e| (ErrorKind::Apply, format!("cannot save {}: {e}", env.target))),
        };
    }
    let opts = ExecOptions {
        seed: env.seed,
        cancel: ctx.cancel.clone(),
        ..ExecOptions::from_policy(&ctx.topology.policy)
    };
    let mut journal = open_journal(env);
    let journal_missing = journal.is_none();
    let info = RunInfo {
        run: journal::new_run_id(),
        command: "reconcile".into(),
        target: env.target.clone(),
        revision: ctx.revision.id.clone(),
    };
    let job = apply::Job {
        plan: &plan,
        start: &start,
        desired: Some(ctx.topology),
        opts: &opts,
        info: &info,
    };
    env.live.follow(&plan, &start);
    env.live.applying();
    let result = apply::run(&mut sim, job, journal.as_mut(), &mut env.live.progress()).await;
    let saved = sim.save();
    verdict.set(Some(match result.outcome {
        Outcome::Converged => Verdict::Converged,
        Outcome::NotConverged => Verdict::NotConverged,
        Outcome::Interrupted => Verdict::Interrupted,
        Outcome::Stranded => Verdict::Stranded,
    }));
    tracing::info!(
        run = %info.run,
        outcome = result.outcome.as_str(),
        applied = result.report.steps_applied,
        pending = result.report.pending.len(),
        "applied"
    );
    let error = if let Err(e) = saved {
        Some((ErrorKind::Apply, format!("cannot save {}: {e}", env.target)))
    } else if let Some(e) = &result.journal_error {
        Some((
            ErrorKind::Journal,
            format!("the journal could not be written: {e}"),
        ))
    } else if journal_missing {
        Some((ErrorKind::Journal, "the journal could not be opened".into()))
    } else {
        None
    };
    PassResult {
        stranded: result.stranded.len() as u64,
        converged: result.outcome == Outcome::Converged,
        plan: Some(plan),
        report: Some(result.report),
        error,
    }
}

/// Starts the thread that serves the endpoints and turns SIGTERM/SIGINT
/// into `shutdown`, on its own runtime: a pass against the simulator runs
/// without yielding, and the endpoints and signals must answer meanwhile.
/// Returns once the handlers are installed and the address is bound.
fn start_edges(
    addr: Option<std::net::SocketAddr>,
    allow_non_loopback: bool,
    endpoints: Endpoints,
    shutdown: Shutdown,
) -> Result<std::thread::JoinHandle<()>, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let handle = std::thread::Builder::new()
        .name("reconcile-edges".into())
        .spawn(move || {
            let rt = match super::runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let signals = match signals::install(shutdown.clone()) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx
                            .send(Err(format!("error: cannot install signal handlers: {e}")));
                        return;
                    }
                };
                let listener = match addr {
                    Some(addr) => match listen::bind(addr, allow_non_loopback).await {
                        Ok(l) => Some(l),
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("error: {e}")));
                            return;
                        }
                    },
                    None => None,
                };
                let _ = ready_tx.send(Ok(()));
                match listener {
                    Some(l) => {
                        let local = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        tracing::info!(address = %local, "serving the status page at / and /healthz, /readyz, /metrics, /status");
                        if let Err(e) = listen::serve(l, endpoints, shutdown.clone()).await {
                            tracing::error!(error = %e, "the HTTP listener stopped");
                        }
                    }
                    None => shutdown.wait().await,
                }
                signals.abort();
            });
        })
        .map_err(|e| format!("error: cannot start a thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err("error: the listener thread ended early".into()),
    }
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    super::exit_code(run_inner(args))
}

fn run_inner(args: Args) -> Result<u8, String> {
    let spec = target::spec(&args.target, &args.target_arg)?;
    let source = match (&args.desired, &args.git) {
        (Some(p), _) => Source::Path(p.clone()),
        (None, Some(repo)) => Source::Git {
            repo: repo.clone(),
            reference: args.reference.clone(),
            path: args.path.clone(),
        },
        (None, None) => unreachable!("clap requires --desired or --git"),
    };
    let listen_addr = args
        .listen
        .as_deref()
        .map(|a| {
            let addr = listen::parse_listen_addr(a)?;
            listen::check_listen_addr(addr, args.listen_non_loopback)?;
            Ok::<_, listen::ListenError>(addr)
        })
        .transpose()
        .map_err(|e| format!("error: {e}"))?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| target::state_dir(&spec, None));
    // With --ha, etcd decides who applies; several replicas may share a
    // host (each with its own --state-dir).
    let lock = match &args.ha {
        Some(_) => None,
        None => Some(
            TargetLock::acquire_target(&spec, "reconcile").map_err(|e| format!("error: {e}"))?,
        ),
    };
    let _ = logs::init(args.log_format);
    if let Some(h) = lock.as_ref().and_then(|l| l.recovered_from.as_ref()) {
        tracing::warn!(previous = %h, "took over the lock of a process that ended without releasing it");
    }
    let fetcher = Fetcher::new(source.clone(), &state_dir).map_err(|e| format!("error: {e}"))?;
    let watch = match (&source, args.once) {
        (Source::Path(p), false) => match Watch::start(p, Debounce::default()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, path = %p.display(), "cannot watch the desired files; changes are seen at the next interval");
                None
            }
        },
        _ => None,
    };
    let status = StatusHandle::default();
    let live = LiveHandle::default();
    let ha = match &args.ha {
        Some(url) => Some(super::reconcile_ha::start(
            url,
            args.ha_ttl,
            args.ha_id.clone(),
            args.etcd.security(),
            &status,
            &live,
        )?),
        None => None,
    };
    let metrics = Arc::new(Metrics::new());
    live.update(|l| l.interval = (!args.once).then(|| args.interval.as_duration()));
    let shutdown = Shutdown::new();
    let edges = start_edges(
        listen_addr,
        args.listen_non_loopback,
        Endpoints {
            status: status.clone(),
            metrics: metrics.clone(),
            live: live.clone(),
        },
        shutdown.clone(),
    )?;
    let runtime = super::runtime()?;
    let cfg = DriverConfig {
        target: args.target.clone(),
        interval: args.interval.as_duration(),
        once: args.once,
        backoff: Backoff::default(),
        jitter: Jitter::new(0.1, args.seed),
        suspend_file: args.suspend_file.clone(),
        wake: ha.as_ref().map(|h| h.wake.clone()),
    };
    let env = PassEnv {
        open: OpenOptions {
            seed: args.seed,
            provider_timeout: args.provider_timeout,
        },
        spec,
        target: args.target.clone(),
        state_dir: state_dir.clone(),
        seed: args.seed,
        live,
        ha: ha.clone(),
    };
    let verdict = Cell::new(None);
    tracing::info!(
        source = %source,
        target = %args.target,
        once = args.once,
        "reconcile started"
    );
    let outcome = runtime.block_on(drive(
        fetcher,
        cfg,
        status.clone(),
        metrics.clone(),
        shutdown.clone(),
        watch,
        async |ctx: PassContext<'_>| pass(&env, ctx, &verdict).await,
    ));
    // Give up leadership at once, so a standby need not wait for the TTL.
    if let Some(ha) = &ha {
        runtime.block_on(ha.resign());
    }
    // Stop the listener (it finishes the requests in hand) and the signal
    // handlers' thread.
    shutdown.trigger();
    let _ = edges.join();
    drop(lock);
    if !args.once {
        tracing::info!("stopped");
        return Ok(exit::OK);
    }
    let Some(last) = outcome else {
        return Ok(exit::ERROR);
    };
    if let Some((kind, msg)) = &last.error {
        if *kind == ErrorKind::Invalid
            && let Some(r) = status.snapshot().refused
        {
            for e in r.errors {
                eprintln!("{e}");
            }
        }
        eprintln!("error: {msg}");
        if last.plan.is_none() {
            return Ok(exit::ERROR);
        }
    }
    let code = match verdict.get() {
        Some(v) => v.exit_code(),
        None => exit::ERROR,
    };
    // A refused newest revision (last good applied) or a failed save is
    // still an error for a one-shot run.
    Ok(if last.error.is_some() && code == exit::OK {
        exit::ERROR
    } else {
        code
    })
}
