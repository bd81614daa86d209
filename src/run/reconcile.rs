//! A whole reconcile run: start the source, the watcher, the HA node and
//! the edges, drive the passes until `--once` is done or a signal comes,
//! and stop the one way ([`super::edges::Edges::stop`]).
//!
//! Owns the wiring of a run ([`run`], from a [`Setup`] the CLI fills from
//! its flags) and the choice of pass ([`pass`]: the single process's, or
//! with `--ha` a replica's), so [`super::lead`] can build on
//! [`super::pass`] without the pass knowing about high availability.
//! Must not parse flags, print, or take the target's lock (the caller
//! holds it and hands it in, to be released once the edges have stopped).

use super::edges;
use super::pass::PassEnv;
use super::target::OpenOptions;
use crate::ha::secure::Security;
use crate::model::Seconds;
use crate::notifier::Notifier;
use crate::notifier::retry::Delivery;
use crate::provider::TargetSpec;
use crate::reconcile::serve::listen::Endpoints;
use crate::reconcile::{
    Backoff, Debounce, DriverConfig, Fetcher, Jitter, LiveHandle, Metrics, PassContext, PassResult,
    Shutdown, Source, StatusHandle, Watch, drive,
};
use crate::state::lock::TargetLock;
use crate::verdict::Verdict;
use std::cell::Cell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// `reconcile --ha`: how this replica joins.
#[derive(Debug)]
pub struct HaSetup {
    /// `etcd://HOST:PORT[,...][/PREFIX]` (or `etcds://`).
    pub url: String,
    /// The lease TTL.
    pub ttl: Seconds,
    /// This replica's identity (default `hostname:pid`).
    pub id: Option<String>,
    /// TLS and user settings.
    pub security: Security,
}

/// Everything a reconcile run needs, as plain values.
#[derive(Debug)]
pub struct Setup {
    /// The target, parsed.
    pub spec: TargetSpec,
    /// The target as given on the command line.
    pub target: String,
    /// How to open it each pass.
    pub open: OpenOptions,
    /// Where the desired topology comes from.
    pub source: Source,
    /// The listener's address, checked; none without `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--listen-non-loopback`.
    pub listen_non_loopback: bool,
    /// The state directory (journal, git cache).
    pub state_dir: PathBuf,
    /// The target's lock, held for the whole run (none with `--ha`).
    pub lock: Option<TargetLock>,
    /// One pass, then stop.
    pub once: bool,
    /// Time between passes.
    pub interval: Seconds,
    /// Seed of the backoff, interval and (new `sim:` target) jitter.
    pub seed: u64,
    /// While this file exists, observe and report but apply nothing.
    pub suspend_file: Option<PathBuf>,
    /// With `--ha`.
    pub ha: Option<HaSetup>,
}

/// How a run ended, for the caller's exit code and messages.
#[derive(Debug)]
pub struct Ending {
    /// The last pass, if one ran.
    pub last: Option<PassResult>,
    /// How the last pass ended (single process only).
    pub verdict: Option<Verdict>,
    /// The problems of the newest revision, when it was refused.
    pub refused: Vec<String>,
}

/// Runs reconcile passes on `runtime` until `--once` is done or a signal
/// comes, then stops the edges and releases the lock. `Err` when the run
/// could not start (the message to print).
pub fn run(setup: Setup, runtime: &tokio::runtime::Runtime) -> Result<Ending, String> {
    let fetcher =
        Fetcher::new(setup.source.clone(), &setup.state_dir).map_err(|e| format!("error: {e}"))?;
    let watch = match (&setup.source, setup.once) {
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
    let ha = match setup.ha {
        Some(h) => Some(super::lead::start(
            &h.url, h.ttl, h.id, h.security, &status, &live,
        )?),
        None => None,
    };
    let metrics = Arc::new(Metrics::new());
    let notifier = Notifier::new(Delivery::default(), metrics.clone());
    live.update(|l| l.interval = (!setup.once).then(|| setup.interval.as_duration()));
    let shutdown = Shutdown::new();
    let edges = edges::start(
        setup.listen,
        setup.listen_non_loopback,
        Endpoints {
            status: status.clone(),
            metrics: metrics.clone(),
            live: live.clone(),
        },
        shutdown.clone(),
    )?;
    let cfg = DriverConfig {
        target: setup.target.clone(),
        interval: setup.interval.as_duration(),
        once: setup.once,
        backoff: Backoff::default(),
        jitter: Jitter::new(0.1, setup.seed),
        suspend_file: setup.suspend_file.clone(),
        wake: ha.as_ref().map(|h| h.wake.clone()),
        notifier: Some(Arc::new(WithRollout {
            notifier: notifier.clone(),
            live: live.clone(),
        })),
    };
    // Every pass opens its target afresh: its write times come back from
    // the journal the passes write, in the state directory of this run.
    let mut open = setup.open;
    if let Some(from) = &mut open.writes_from {
        from.state_dir = Some(setup.state_dir.clone());
    }
    let env = PassEnv {
        open,
        spec: setup.spec,
        target: setup.target.clone(),
        state_dir: setup.state_dir,
        seed: setup.seed,
        live,
        ha: ha.clone(),
        gates: Default::default(),
    };
    let verdict = Cell::new(None);
    tracing::info!(
        source = %setup.source,
        target = %setup.target,
        once = setup.once,
        "reconcile started"
    );
    let last = runtime.block_on(drive(
        fetcher,
        cfg,
        status.clone(),
        metrics,
        shutdown,
        watch,
        async |ctx: PassContext<'_>| pass(&env, ctx, &verdict).await,
    ));
    runtime.block_on(notifier.finish());
    edges.stop(runtime, ha.as_ref());
    drop(setup.lock);
    let refused = status
        .snapshot()
        .refused
        .map(|r| r.errors)
        .unwrap_or_default();
    Ok(Ending {
        last,
        verdict: verdict.get(),
        refused,
    })
}

/// The pass [`crate::reconcile::drive`] is given: [`super::lead::pass`]
/// with `--ha` (no verdict: forever mode only), else [`super::pass::pass`],
/// which sets `verdict` for `--once`'s exit code.
pub async fn pass(
    env: &PassEnv,
    ctx: PassContext<'_>,
    verdict: &Cell<Option<Verdict>>,
) -> PassResult {
    match &env.ha {
        Some(ha) => super::lead::pass(env, ha, ctx).await,
        None => super::pass::pass(env, ctx, verdict).await,
    }
}

/// The notifier, told the status a pass recorded with the pass's rollout
/// laid over it, as `/status` shows it: the recorded status has no
/// rollout (the pass hands it to the live view), so without this a failed
/// analysis or a rollback would reach the page but not the receivers.
#[derive(Debug)]
struct WithRollout {
    /// The loop's notifier.
    notifier: Notifier,
    /// Where the pass left its rollout.
    live: LiveHandle,
}

impl crate::reconcile::driver::AfterPass for WithRollout {
    fn after_pass(
        &self,
        status: &crate::reconcile::serve::status::Status,
        receivers: &[crate::model::notify::Receiver],
    ) {
        let mut s = status.clone();
        let rollout = self.live.read(|l| l.rollout.clone());
        crate::reconcile::serve::overlay::rollout(&mut s, rollout.as_ref());
        self.notifier.after_pass(&s, receivers);
    }
}
