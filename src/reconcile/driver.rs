//! The reconcile loop's driver: when passes run and what they are given,
//! with the pass itself (observe, plan, apply) supplied by the caller.
//!
//! Owns the order of one iteration: look at the source (adopt or refuse a
//! new revision), check suspension, publish both in `/status` before the
//! pass starts (so a pass that runs for hours shows the revision it
//! applies), run the pass inside its span, record it in `/status` and
//! `/metrics`, then wait (interval with jitter, backoff
//! after errors, cut short by a file change, ended by shutdown). Shutdown
//! is only looked at between passes; inside one, the pass sees it through
//! its [`Cancel`] flag and finishes the step in flight. Must not plan,
//! apply or talk to targets: that is the `pass` closure's job.

use super::backoff::{Backoff, Jitter};
use super::logs::pass_span;
use super::pause::{between_passes, is_suspended};
use super::record::{PassRecord, record_pass, record_source};
use super::schedule::{PassOutcome, Trigger, next_wait};
use super::serve::metrics::Metrics;
use super::serve::status::{ErrorKind, StatusHandle};
use super::signals::Shutdown;
use super::source::desired::{Desired, Polled, poll};
use super::source::revision::RevisionTracker;
use super::source::watch::Watch;
use super::source::{Fetcher, Revision};
use crate::execute::{Cancel, EngineReport};
use crate::model::Topology;
use crate::model::notify::Receiver;
use crate::plan::Plan;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::Instrument;

/// What a pass is given.
#[derive(Debug)]
pub struct PassContext<'a> {
    /// The pass number, from 1.
    pub pass: u64,
    /// What started it.
    pub trigger: Trigger,
    /// The revision in use.
    pub revision: &'a Revision,
    /// Its topology (valid: refused revisions never get here).
    pub topology: &'a Topology,
    /// Observe and plan only; apply nothing.
    pub suspended: bool,
    /// Set on shutdown: start no new step, finish the one in flight.
    pub cancel: Cancel,
}

/// What a pass reports back.
#[derive(Clone, Debug, Default)]
pub struct PassResult {
    /// The plan made from the pass's observation (`None` if it failed
    /// before planning).
    pub plan: Option<Plan>,
    /// The executor's report (`None` if nothing was applied).
    pub report: Option<EngineReport>,
    /// Members with no working parent, when the target knows.
    pub stranded: u64,
    /// It applied its plan and a final observation found the estate
    /// converged (the apply outcome `converged`): `Synced` at once.
    pub converged: bool,
    /// Why the pass failed, if it did.
    pub error: Option<(ErrorKind, String)>,
    /// What the change window and approval gate decided, and how many
    /// members they held back (docs/gates.md).
    pub gates: Option<(crate::reconcile::serve::gates_view::GatesView, u64)>,
}

/// How the driver runs.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The target, as given (for `/status`).
    pub target: String,
    /// Time between passes, before jitter.
    pub interval: Duration,
    /// One pass, then return.
    pub once: bool,
    /// Backoff after errors.
    pub backoff: Backoff,
    /// Jitter on the interval.
    pub jitter: Jitter,
    /// While this file exists, apply nothing.
    pub suspend_file: Option<PathBuf>,
    /// With `--ha`: notified when this replica wins or loses leadership,
    /// which cuts a wait short (trigger `leadership`).
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// Told the status after each pass, to notify the receivers of the
    /// revision in use (`policy.notifications`): the notifier, which sits
    /// above the loop and is handed in by `run::reconcile`.
    pub notifier: Option<Arc<dyn AfterPass>>,
}

/// What is told the status after each pass (the notifier): the loop calls
/// it and never waits on it.
pub trait AfterPass: std::fmt::Debug + Send + Sync {
    /// The status after a pass, with the receivers of the revision in use
    /// (`policy.notifications`; empty before a revision is in use).
    fn after_pass(&self, status: &super::serve::status::Status, receivers: &[Receiver]);
}

/// Runs passes until shutdown (or one pass with `once`), and returns the
/// last pass's result (`None` if no pass ran).
pub async fn drive<P>(
    fetcher: Fetcher,
    mut cfg: DriverConfig,
    status: StatusHandle,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    mut watch: Option<Watch>,
    mut pass: P,
) -> Option<PassResult>
where
    P: AsyncFnMut(PassContext<'_>) -> PassResult,
{
    status.update(|s| {
        s.source = fetcher.source().to_string();
        s.target = cfg.target.clone();
    });
    let fetcher = Arc::new(fetcher);
    let mut tracker: RevisionTracker<Desired> = RevisionTracker::new();
    let mut trigger = Trigger::Startup;
    let mut number = 0u64;
    let mut last = None;
    loop {
        if shutdown.is_triggered() {
            return last;
        }
        number += 1;
        let started = SystemTime::now();
        let t0 = Instant::now();

        // Look at the source off the async threads (git, file reads).
        let f = fetcher.clone();
        let (polled, back) = tokio::task::spawn_blocking(move || {
            let r = poll(&f, &mut tracker);
            (r, tracker)
        })
        .await
        .expect("the source poll does not panic");
        tracker = back;
        let mut source_error = None;
        let mut newly_refused = None;
        match &polled {
            Ok(Polled::Adopted {
                previous: Some(_), ..
            }) if !trigger.interrupts_wait() => {
                // A fetch found a new commit: that is why this pass matters.
                trigger = Trigger::NewRevision
            }
            Ok(Polled::Refused { revision, keeping }) => {
                if !trigger.interrupts_wait() && keeping.is_some() {
                    trigger = Trigger::NewRevision;
                }
                let problems = tracker.refused().map_or(0, |r| r.diagnostics.len());
                tracing::error!(
                    revision = %revision,
                    keeping = keeping.as_deref().unwrap_or("none"),
                    problems = %tracker.refused().map(|r| r.diagnostics.to_string()).unwrap_or_default(),
                    "revision refused: it does not validate; the last good revision is kept"
                );
                newly_refused = Some((
                    ErrorKind::Invalid,
                    format!(
                        "revision {revision} refused ({problems} problems); see refused.errors"
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => source_error = Some((ErrorKind::Source, e.to_string())),
        }

        let revision_id = tracker.current_id().map(str::to_string);
        let span = pass_span(number, trigger, revision_id.as_deref());
        let suspended = tracker.current().is_some_and(|(_, (_, topology))| {
            is_suspended(cfg.suspend_file.as_deref(), Some(&topology.policy))
        });
        record_source(
            &status,
            tracker.current().map(|(_, (rev, _))| rev),
            tracker.refused(),
            suspended,
            SystemTime::now(),
        );
        let result = match tracker.current() {
            Some((_, (rev, topology))) => {
                let ctx = PassContext {
                    pass: number,
                    trigger,
                    revision: rev,
                    topology,
                    suspended,
                    cancel: shutdown.cancel(),
                };
                let mut r = pass(ctx).instrument(span.clone()).await;
                if r.error.is_none() {
                    r.error = source_error.clone();
                }
                (r, suspended)
            }
            None => {
                let error = source_error.clone().or_else(|| {
                    tracker.refused().map(|r| {
                        (
                            ErrorKind::Invalid,
                            format!(
                                "revision {} is invalid and there is no earlier good one",
                                r.revision
                            ),
                        )
                    })
                });
                (
                    PassResult {
                        error,
                        ..PassResult::default()
                    },
                    false,
                )
            }
        };
        let (result, suspended) = result;
        let refused = tracker.refused();
        let current_rev = tracker.current().map(|(_, (rev, _))| rev);
        // A refusal counts as an error once, when it is new; later passes
        // keep showing it through `refused` and the last error.
        let error = result.error.clone().or(newly_refused);
        record_pass(
            &status,
            &metrics,
            &PassRecord {
                trigger,
                started,
                took: t0.elapsed(),
                revision: current_rev,
                refused,
                plan: result.plan.as_ref(),
                report: result.report.as_ref(),
                stranded: result.stranded,
                suspended,
                converged: result.converged,
                error: error.clone(),
                gates: result.gates.as_ref(),
            },
            SystemTime::now(),
        );
        if let Some(n) = &cfg.notifier {
            let receivers = tracker.current().map(|(_, (_, t))| &t.policy.notifications);
            n.after_pass(&status.snapshot(), receivers.map_or(&[], Vec::as_slice));
        }
        span.in_scope(|| {
            tracing::info!(
                sync = status.snapshot().sync.map_or("unknown", |s| s.as_str()),
                applied = result.report.as_ref().map_or(0, |r| r.steps_applied),
                took_ms = t0.elapsed().as_millis() as u64,
                "pass finished"
            )
        });
        let failed = result.error.is_some() || current_rev.is_none();
        last = Some(result);
        if cfg.once {
            return last;
        }

        let arrived = watch
            .as_mut()
            .is_some_and(Watch::take_pending)
            .then_some(Trigger::FileChanged);
        let outcome = if failed {
            PassOutcome::Failed
        } else {
            PassOutcome::Succeeded
        };
        let wait = next_wait(
            outcome,
            cfg.jitter.apply(cfg.interval),
            &mut cfg.backoff,
            arrived,
        );
        let woken = async {
            match &cfg.wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            t = between_passes(wait, &mut watch, &shutdown) => t,
            _ = woken => Some(Trigger::Leadership),
        };
        match next {
            Some(t) => trigger = t,
            None => return last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::serve::status::{Status, SyncStatus};
    use crate::reconcile::source::Source;
    use crate::reconcile::source::tests::{Repo, topology_yaml};
    use crate::reconcile::source::watch::Debounce;
    use std::cell::RefCell;
    use std::future::Future;

    fn cfg(once: bool) -> DriverConfig {
        DriverConfig {
            target: "sim:estate.yaml".into(),
            interval: Duration::from_secs(3600),
            once,
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
            jitter: Jitter::new(0.1, 1),
            suspend_file: None,
            wake: None,
            notifier: None,
        }
    }

    /// A fetcher of `repo`'s `reference` (its HEAD when `None`), checked
    /// out under `state`.
    fn git_fetcher(repo: &Repo, reference: Option<String>, state: &std::path::Path) -> Fetcher {
        let source = Source::Git {
            repo: repo.url(),
            reference,
            path: None,
        };
        Fetcher::new(source, state).unwrap()
    }

    fn empty_plan() -> Plan {
        Plan::new(Vec::new(), Vec::new())
    }

    /// Waits (polling every 10 ms) until `f(status)` holds, for at most 3 s.
    async fn until(status: &StatusHandle, what: &str, f: impl Fn(&Status) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !f(&status.snapshot()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                status.snapshot()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn with_driver<F: Future<Output = ()>>(
        driver: impl Future<Output = Option<PassResult>>,
        script: F,
    ) -> Option<PassResult> {
        let (r, ()) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(driver, script)
        })
        .await
        .expect("driver and script finish");
        r
    }

    #[tokio::test]
    async fn an_edit_triggers_a_pass_within_a_second_and_an_invalid_edit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desired.yaml");
        std::fs::write(&file, topology_yaml("gw1.contoso.local")).unwrap();
        let state = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(Source::Path(file.clone()), state.path()).unwrap();
        let watch = Watch::start(&file, Debounce::default()).unwrap();
        let status = StatusHandle::default();
        let shutdown = Shutdown::new();
        let seen = RefCell::new(Vec::new());
        let driver = drive(
            fetcher,
            cfg(false),
            status.clone(),
            Arc::new(Metrics::new()),
            shutdown.clone(),
            Some(watch),
            async |ctx: PassContext<'_>| {
                seen.borrow_mut().push((
                    ctx.trigger,
                    ctx.topology.agents[0].parents.primary.to_string(),
                ));
                PassResult {
                    plan: Some(empty_plan()),
                    ..PassResult::default()
                }
            },
        );
        let script = async {
            until(&status, "the first pass", |s| s.passes == 1).await;
            let first = status.snapshot().revision.unwrap().id;
            std::fs::write(&file, topology_yaml("gw2.contoso.local")).unwrap();
            let t = Instant::now();
            until(&status, "a pass after the edit", |s| s.passes == 2).await;
            assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
            let s = status.snapshot();
            assert_ne!(s.revision.as_ref().unwrap().id, first);
            assert_eq!(s.sync, Some(SyncStatus::Synced));
            assert_eq!(s.last_pass.unwrap().trigger, Trigger::FileChanged);

            std::fs::write(&file, "agents: [\n").unwrap();
            until(&status, "the invalid edit's pass", |s| s.passes == 3).await;
            let s = status.snapshot();
            assert_eq!(s.sync, Some(SyncStatus::Degraded));
            assert!(s.refused.is_some());
            assert_ne!(s.revision.as_ref().unwrap().id, first, "last good kept");
            shutdown.trigger();
        };
        with_driver(driver, script).await;
        let seen = seen.into_inner();
        assert_eq!(
            seen,
            [
                (Trigger::Startup, "gw1.contoso.local".to_string()),
                (Trigger::FileChanged, "gw2.contoso.local".to_string()),
                (Trigger::FileChanged, "gw2.contoso.local".to_string()),
            ],
            "the refused revision's pass still reconciles the last good topology"
        );
    }

    #[tokio::test]
    async fn once_against_git_records_the_commit() {
        let repo = Repo::new();
        let c1 = repo.commit("desired.yaml", &topology_yaml("gw1.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let fetcher = git_fetcher(&repo, None, state.path());
        let status = StatusHandle::default();
        let r = drive(
            fetcher,
            cfg(true),
            status.clone(),
            Arc::new(Metrics::new()),
            Shutdown::new(),
            None,
            async |ctx: PassContext<'_>| {
                assert_eq!(ctx.trigger, Trigger::Startup);
                PassResult {
                    plan: Some(empty_plan()),
                    ..PassResult::default()
                }
            },
        )
        .await;
        assert!(r.unwrap().error.is_none());
        let s = status.snapshot();
        assert_eq!(s.revision.unwrap().id, c1);
        assert!(s.ready);
        assert!(s.source.ends_with("@HEAD"), "{}", s.source);
    }

    #[tokio::test]
    async fn a_new_commit_is_picked_up_on_the_next_fetch_and_suspension_is_honoured() {
        let repo = Repo::new();
        let c1 = repo.commit("desired.yaml", &topology_yaml("gw1.contoso.local"));
        let state = tempfile::tempdir().unwrap();
        let fetcher = git_fetcher(&repo, Some("main".into()), state.path());
        let suspend = state.path().join("SUSPEND");
        let mut config = cfg(false);
        config.interval = Duration::from_millis(100);
        config.suspend_file = Some(suspend.clone());
        let status = StatusHandle::default();
        let shutdown = Shutdown::new();
        let suspended_seen = RefCell::new(Vec::new());
        let driver = drive(
            fetcher,
            config,
            status.clone(),
            Arc::new(Metrics::new()),
            shutdown.clone(),
            None,
            async |ctx: PassContext<'_>| {
                suspended_seen.borrow_mut().push(ctx.suspended);
                let mut plan = empty_plan();
                plan.summary.changes = u64::from(ctx.suspended);
                PassResult {
                    plan: Some(plan),
                    ..PassResult::default()
                }
            },
        );
        let script = async {
            until(&status, "the first commit", |s| {
                s.revision.as_ref().is_some_and(|r| r.id == c1)
            })
            .await;
            let c2 = repo.commit("desired.yaml", &topology_yaml("gw2.contoso.local"));
            until(&status, "the second commit", |s| {
                s.revision.as_ref().is_some_and(|r| r.id == c2)
            })
            .await;
            let s = status.snapshot();
            assert_eq!(s.last_pass.unwrap().trigger, Trigger::NewRevision);
            assert_eq!(s.sync, Some(SyncStatus::Synced));
            std::fs::write(&suspend, "").unwrap();
            until(&status, "suspension", |s| {
                s.sync == Some(SyncStatus::Suspended)
            })
            .await;
            std::fs::remove_file(&suspend).unwrap();
            until(&status, "resumption", |s| {
                s.sync == Some(SyncStatus::Synced)
            })
            .await;
            shutdown.trigger();
        };
        with_driver(driver, script).await;
        let seen = suspended_seen.into_inner();
        assert!(
            seen.contains(&true) && seen.last() == Some(&false),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn shutdown_during_a_pass_lets_it_finish_and_starts_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desired.yaml");
        std::fs::write(&file, topology_yaml("gw1.contoso.local")).unwrap();
        let state = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(Source::Path(file), state.path()).unwrap();
        let shutdown = Shutdown::new();
        let passes = RefCell::new(0);
        let s2 = shutdown.clone();
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            drive(
                fetcher,
                cfg(false),
                StatusHandle::default(),
                Arc::new(Metrics::new()),
                shutdown.clone(),
                None,
                async |ctx: PassContext<'_>| {
                    *passes.borrow_mut() += 1;
                    // SIGTERM arrives mid-pass; the step in flight finishes.
                    s2.trigger();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    assert!(ctx.cancel.is_cancelled());
                    PassResult {
                        plan: Some(empty_plan()),
                        ..PassResult::default()
                    }
                },
            ),
        )
        .await
        .expect("the driver returns promptly after shutdown");
        assert!(r.is_some(), "the pass in flight finished and was returned");
        assert_eq!(passes.into_inner(), 1);
    }

    #[tokio::test]
    async fn errors_back_off_and_a_missing_source_has_no_pass() {
        let state = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(
            Source::Path(state.path().join("missing.yaml")),
            state.path(),
        )
        .unwrap();
        let status = StatusHandle::default();
        let shutdown = Shutdown::new();
        let metrics = Arc::new(Metrics::new());
        let driver = drive(
            fetcher,
            cfg(false),
            status.clone(),
            metrics.clone(),
            shutdown.clone(),
            None,
            async |_ctx: PassContext<'_>| -> PassResult { panic!("no revision, no pass") },
        );
        let script = async {
            // 50 ms, 100 ms, 200 ms: three retries well within the deadline.
            until(&status, "retries", |s| s.passes >= 4).await;
            let s = status.snapshot();
            assert_eq!(s.last_error.unwrap().kind, ErrorKind::Source);
            assert_eq!(s.last_pass.unwrap().trigger, Trigger::Retry);
            assert!(!s.ready);
            shutdown.trigger();
        };
        with_driver(driver, script).await;
        assert!(
            metrics
                .encode(&status.snapshot())
                .contains("handover_reconcile_errors_total{kind=\"source\"} ")
        );
    }
}
