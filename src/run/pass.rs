//! One reconcile pass: open the target, observe the whole estate, plan,
//! and (unless suspended) apply with the journal, then save the target.
//!
//! Owns the pass of a replica-less run, what every applying
//! pass shares ([`apply_followed`]: journal, status page, run; the leader's
//! pass in [`super::lead`] takes it too), and the verdict of the last pass
//! for `--once`. Reopens the target every pass, so a hand edit of a `sim:`
//! target's file (drift) is seen, and put back, by the next pass. Must not
//! parse flags, print, or take the target's lock: the CLI holds it for the
//! whole run.

use super::apply::{self, RunInfo, RunResult};
use super::rollout::gate::{LocalJournal, MemoryStore};
use super::target::{OpenOptions, Target};
use crate::execute::{Cancel, EngineOptions, Inspect};
use crate::model::Observed;
use crate::plan::Plan;
use crate::provider::{Clock, Provider, Scope, TargetSpec};
use crate::reconcile::serve::rollout_view::RolloutView;
use crate::reconcile::serve::status::ErrorKind;
use crate::reconcile::{LiveHandle, PassContext, PassResult};
use crate::state::journal::{self, Journal};
use crate::verdict::Verdict;
use std::cell::Cell;
use std::path::PathBuf;

/// Opens the target for one pass. Reopened every pass, so a hand edit of a
/// `sim:` target's file (drift) is seen, and put back, by the next pass.
pub(crate) fn open_target(spec: &TargetSpec, opts: &OpenOptions) -> Result<Target, String> {
    let (target, notes) = Target::open(spec, opts)?;
    // Opening notes are changes made outside handover: drift, which this
    // pass puts back.
    for n in notes {
        tracing::warn!("drift: {n}");
    }
    Ok(target)
}

/// What the pass needs besides its context.
pub struct PassEnv {
    /// The target, parsed.
    pub spec: TargetSpec,
    /// How to open it.
    pub open: OpenOptions,
    /// The target as given on the command line.
    pub target: String,
    /// The state directory (journal).
    pub state_dir: PathBuf,
    /// Seed of the backoff jitter.
    pub seed: u64,
    /// What the status page shows while the pass runs.
    pub live: LiveHandle,
    /// With `--ha`: the node; the pass is then [`super::lead::pass`]
    /// ([`super::reconcile::pass`] chooses).
    pub ha: Option<crate::ha::Ha>,
    /// Change windows and approvals remembered between passes.
    pub gates: super::gates::GateState,
}

impl PassEnv {
    /// Who runs what, for the journal: a `reconcile` run of the pass's
    /// revision.
    pub(crate) fn run_info(&self, ctx: &PassContext<'_>, run: String) -> RunInfo {
        RunInfo {
            run,
            command: "reconcile".into(),
            target: self.target.clone(),
            revision: ctx.revision.id.clone(),
            user: super::origin::os_user(),
            // A git source's revision is its commit; a path's files may
            // still sit in a git work tree.
            commit: if ctx.revision.checkout.is_some() {
                ctx.revision.id.clone()
            } else {
                super::origin::git_commit(std::slice::from_ref(&ctx.revision.files))
            },
        }
    }
}

/// Marks the status page's pass as over however the pass returns.
pub(crate) struct IdleOnDrop<'a>(pub(crate) &'a LiveHandle);

impl Drop for IdleOnDrop<'_> {
    fn drop(&mut self) {
        self.0.idle();
    }
}

pub(crate) fn fail(kind: ErrorKind, message: String) -> PassResult {
    tracing::error!(kind = kind.as_str(), "{message}");
    PassResult {
        error: Some((kind, message)),
        ..PassResult::default()
    }
}

/// A pass that could not open or observe the target (`what`): an observe
/// error, named with the target, for the status and the backoff.
pub(crate) fn observe_failed(env: &PassEnv, what: &str, e: impl std::fmt::Display) -> PassResult {
    fail(
        ErrorKind::Observe,
        format!("cannot {what} {}: {e}", env.target),
    )
}

/// Observes the whole estate through `target` and plans against it, the
/// rollout's memory kept in `memory` (the local journal, or etcd under
/// `--ha`); the plan goes to the status page at once.
pub(crate) async fn observe_and_plan<P: Provider>(
    env: &PassEnv,
    ctx: &PassContext<'_>,
    target: &mut P,
    memory: &dyn MemoryStore,
) -> Result<(crate::model::Observed, crate::plan::Plan), crate::provider::ProviderError> {
    let start = target.observe(&Scope::All).await?;
    let files = std::slice::from_ref(&ctx.revision.files);
    let plan = match super::rollout::gate::Gate::for_pass(
        memory,
        ctx.topology,
        &start,
        &ctx.revision.id,
        std::time::SystemTime::now(),
    ) {
        // Admission (docs/rollouts.md, docs/gates.md): a member starts
        // only when the rollout's step, the change windows and the
        // approval all let it.
        Some(g) => {
            env.live
                .update(|l| l.rollout = Some(RolloutView::of(g.status())));
            super::gates::plan_pass_narrowed(
                &env.gates,
                &g.desired,
                &start,
                &g.assignment,
                &env.state_dir,
                files,
                &|s| g.admits(s),
            )
        }
        None => {
            env.live.update(|l| l.rollout = None);
            super::gates::plan_pass(&env.gates, ctx.topology, &start, &env.state_dir, files)
        }
    };
    env.live.planned(&plan, &start);
    Ok((start, plan))
}

/// Logs what a pass planned, once for every kind of pass; `term` is the
/// leader's under `--ha`.
pub(crate) fn log_planned(plan: &Plan, suspended: bool, term: Option<i64>) {
    tracing::info!(
        role = term.map(|_| "leader"),
        term,
        members = crate::plan::Counts::of(plan).members,
        steps = plan.steps.len(),
        blocked = plan.blocked.len(),
        suspended,
        "planned: {}",
        crate::render::text::summary_line(plan)
    );
}

/// The local journal, or `None` when it cannot be opened: the pass then
/// applies without it, and says so.
pub(crate) fn open_journal(env: &PassEnv) -> Option<Journal> {
    Journal::open(&env.state_dir)
        .inspect_err(|e| {
            tracing::warn!(error = %e, dir = %env.state_dir.display(), "cannot open the journal; applying without it");
        })
        .ok()
}

/// One pass: open, observe, plan, apply (unless suspended), save. `verdict`
/// holds how the pass ended, for `--once`'s exit code.
pub async fn pass(
    env: &PassEnv,
    ctx: PassContext<'_>,
    verdict: &Cell<Option<Verdict>>,
) -> PassResult {
    verdict.set(None);
    env.live.planning(ctx.pass);
    let _idle = IdleOnDrop(&env.live);
    let mut sim = match open_target(&env.spec, &env.open) {
        Ok(s) => s,
        Err(e) => {
            return observe_failed(env, "open", e);
        }
    };
    let memory = LocalJournal(&env.state_dir);
    let (start, plan) = match observe_and_plan(env, &ctx, &mut sim, &memory).await {
        Ok(p) => p,
        Err(e) => return observe_failed(env, "observe", e),
    };
    log_planned(&plan, ctx.suspended, None);
    // A rollout that holds members back has not converged (docs/rollouts.md).
    let held = env
        .live
        .read(|l| l.rollout.as_ref().is_some_and(|r| r.under_way()));
    if ctx.suspended || plan.steps.is_empty() {
        let stranded = sim.stranded();
        let saved = sim.save();
        verdict.set(Some(if !stranded.is_empty() {
            Verdict::Stranded
        } else if plan.steps.is_empty() && plan.blocked.is_empty() && !held && env.gates.held() == 0
        {
            Verdict::Converged
        } else {
            Verdict::NotConverged
        }));
        return PassResult {
            plan: Some(plan),
            report: None,
            stranded: stranded.len() as u64,
            converged: false,
            gates: env.gates.take_view(),
            error: saved
                .err()
                .map(|e| (ErrorKind::Apply, format!("cannot save {}: {e}", env.target))),
        };
    }
    let info = env.run_info(&ctx, journal::new_run_id());
    let (cancel, _window) = env.gates.pass_cancel(&ctx.cancel);
    let applied = apply_followed(env, &ctx, &mut sim, &plan, &start, &info, cancel).await;
    let result = applied.result;
    let saved = sim.save();
    verdict.set(Some(result.outcome));
    tracing::info!(
        run = %info.run,
        outcome = result.outcome.as_str(),
        applied = result.report.steps_applied,
        pending = result.report.pending.len(),
        "applied"
    );
    let error = match saved {
        Err(e) => Some((ErrorKind::Apply, format!("cannot save {}: {e}", env.target))),
        Ok(()) => journal_problem(result.journal_error.as_ref(), applied.journal_missing),
    };
    PassResult {
        stranded: result.stranded.len() as u64,
        converged: result.outcome == Verdict::Converged,
        gates: env.gates.take_view(),
        plan: Some(plan),
        report: Some(result.report),
        error,
    }
}

/// What [`apply_followed`] gave: the run's result, and whether the local
/// journal could not be opened (the run went ahead without it).
pub struct Applied {
    /// The run's result.
    pub result: RunResult,
    /// The local journal could not be opened.
    pub journal_missing: bool,
}

/// The part every applying pass shares, written once: open the local
/// journal, show the plan on the status page and follow the run there,
/// and run `plan` through [`crate::run::apply::run`] with the window and
/// timeouts of the topology's policy.
pub async fn apply_followed<T: Provider + Clock + Inspect>(
    env: &PassEnv,
    ctx: &PassContext<'_>,
    target: &mut T,
    plan: &Plan,
    start: &Observed,
    info: &RunInfo,
    cancel: Cancel,
) -> Applied {
    let opts = EngineOptions {
        seed: env.seed,
        cancel,
        ..EngineOptions::from_policy(&ctx.topology.policy)
    };
    let mut journal = open_journal(env);
    let journal_missing = journal.is_none();
    let job = apply::Job {
        plan,
        start,
        desired: Some(ctx.topology),
        opts: &opts,
        info,
    };
    env.live.follow(plan, start);
    env.live.applying();
    let result = apply::run(target, job, journal.as_mut(), &mut env.live.progress()).await;
    Applied {
        result,
        journal_missing,
    }
}

/// The journal error a pass reports, if any: a write that failed, or a
/// journal that could not be opened.
pub(crate) fn journal_problem(
    write: Option<&std::io::Error>,
    missing: bool,
) -> Option<(ErrorKind, String)> {
    match write {
        Some(e) => Some((
            ErrorKind::Journal,
            format!("the journal could not be written: {e}"),
        )),
        None if missing => Some((ErrorKind::Journal, "the journal could not be opened".into())),
        None => None,
    }
}
