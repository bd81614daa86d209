//! The `apply` use case, end to end: take the target's lock, open and
//! observe it, plan (or check a saved plan), show the plan, ask, watch for
//! an interrupt, run it journalled ([`super::run`]) and save the target.
//!
//! Owns the order of those steps and what each failure means for the exit
//! code. Everything a person sees or answers comes in through [`Ui`], so
//! the whole flow runs in tests without a terminal; must not print, read
//! stdin or install signal handlers itself.

use super::{Job, RunInfo, RunResult, prepare};
use crate::execute::{Cancel, EngineOptions};
use crate::model::{Observed, Seconds, Topology};
use crate::plan::Plan;
use crate::provider::{Clock, Provider, Scope, TargetSpec};
use crate::run::target::{self, OpenOptions, Target};
use crate::state::journal::{self, Journal};
use crate::state::lock::TargetLock;
use crate::verdict::exit;
use std::path::PathBuf;

/// Everything `apply` was asked to do, as plain values.
#[derive(Clone, Debug)]
pub struct Request {
    /// The target, parsed.
    pub spec: TargetSpec,
    /// The target as given on the command line (for messages and the
    /// journal).
    pub target_name: String,
    /// How to open it.
    pub open: OpenOptions,
    /// Desired files or directories (empty with a saved plan).
    pub desired: Vec<PathBuf>,
    /// A plan saved by `plan --out`.
    pub planfile: Option<PathBuf>,
    /// Apply a saved plan without `observed_digest`.
    pub force: bool,
    /// `--max-in-flight`.
    pub max_in_flight: Option<u32>,
    /// `--ack-timeout`.
    pub ack_timeout: Option<Seconds>,
    /// Seed of the backoff jitter.
    pub seed: u64,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// Apply without asking.
    pub auto_approve: bool,
    /// `--ignore-windows`: apply outside the change windows too.
    pub ignore_windows: bool,
}

pub use super::ui::Ui;

/// How an apply ended, short of an error that stopped it before the plan
/// was shown.
#[derive(Debug)]
pub enum Ended {
    /// The plan had no step: nothing was applied.
    NothingToApply,
    /// The person did not approve: nothing was changed.
    Declined,
    /// A change window was closed, or the plan needs an approval it does
    /// not have (docs/gates.md): nothing was changed.
    Gated,
    /// The plan was applied.
    Ran(Box<Ran>),
}

/// A run that was applied: who ran it, when, and what it did; the
/// caller makes the summary, `--report` and `--format json` of it
/// ([`crate::report::run::RunReport::new`]).
#[derive(Debug)]
pub struct Ran {
    /// Who ran what.
    pub info: RunInfo,
    /// When the run started, RFC 3339.
    pub started: String,
    /// When it finished, RFC 3339.
    pub finished: String,
    /// What it did, and the verdict.
    pub result: RunResult,
    /// The forecast of `plan` and `simulate` beside what the run took
    /// (docs/spec.md, "Forecast").
    pub forecast: crate::render::forecast::Comparison,
    /// Under `policy.rollout`: what the rollout did and where it stopped.
    pub rollout: Option<crate::run::rollout::blocking::RolloutRun>,
}

/// What [`apply()`] returns.
#[derive(Debug)]
pub struct Outcome {
    /// The plan applied (or shown).
    pub plan: Plan,
    /// The desired revision.
    pub revision: String,
    /// How it ended.
    pub ended: Ended,
    /// Errors after the run (the target could not be saved), already
    /// reflected in [`Outcome::code`].
    pub errors: Vec<String>,
    /// The exit code.
    pub code: u8,
    /// Wall-clock seconds from the lock to the end.
    pub seconds: f64,
}

/// Runs `req`: the whole `apply` use case. `Err` is an error that stopped
/// it before anything was applied (bad input, a lock held, the target not
/// reachable), as the message to print.
pub fn apply(req: &Request, ui: &mut dyn Ui) -> Result<Outcome, String> {
    if req.force && req.planfile.is_none() {
        return Err(
            "error: --force applies to a PLANFILE without observed_digest only; with --desired, apply plans against a fresh observation: drop --force"
                .into(),
        );
    }
    if req.planfile.is_none() && req.desired.is_empty() {
        return Err("error: apply needs a PLANFILE or --desired".into());
    }
    let desired: Option<Topology> = if req.desired.is_empty() {
        None
    } else {
        Some(crate::load::topology(&req.desired).map_err(|d| d.to_string())?)
    };
    let saved_plan = match &req.planfile {
        Some(p) => {
            let plan = prepare::read_plan(p)?;
            super::stale::require_digest(&plan, &p.display().to_string(), req.force)
                .map_err(|e| format!("error: {e}"))?;
            Some(plan)
        }
        None => None,
    };
    let clock = std::time::Instant::now();
    let state_dir = target::state_dir(&req.spec, req.state_dir.as_deref());
    let lock = TargetLock::acquire_target(&req.spec, "apply").map_err(|e| format!("error: {e}"))?;
    if let Some(h) = &lock.recovered_from {
        ui.note(&format!(
            "note: took over the lock of {h}, which ended without releasing it"
        ));
    }
    // An `exec:` provider judges evidence against handover's earlier
    // writes: they come from the journal of this run's state directory
    // (`--state-dir` included).
    let mut open = req.open.clone();
    if let Some(from) = &mut open.writes_from {
        from.state_dir = Some(state_dir.clone());
    }
    let (mut tgt, notes) = Target::open(&req.spec, &open)?;
    for n in notes {
        ui.note(&n);
    }
    let runtime = super::super::runtime()?;
    let observing = std::time::Instant::now();
    let start: Observed = runtime
        .block_on(tgt.observe(&Scope::All))
        .map_err(|e| format!("error: cannot observe {}: {e}", req.target_name))?;
    let first_observe = observing.elapsed();
    let (plan, revision) = match (&saved_plan, &desired) {
        (Some(plan), _) => prepare::saved(plan, &start)?,
        (_, Some(d)) => prepare::planned(d, &req.desired, &start)?,
        (None, None) => unreachable!("checked above: a PLANFILE or --desired"),
    };
    let policy = prepare::policy(
        desired.as_ref(),
        saved_plan.as_ref(),
        req.max_in_flight,
        req.ack_timeout,
    );
    tgt.set_store_timeout(policy.store_timeout);
    ui.show_plan(&plan, &start, &policy);
    let notices = super::notify::Notices::new(
        desired
            .as_ref()
            .map_or(&[], |d| d.policy.notifications.as_slice()),
        &req.target_name,
        source_of(req),
        &revision,
    );
    let outcome = |plan: Plan, ended: Ended, code: u8, errors: Vec<String>| Outcome {
        plan,
        revision: revision.clone(),
        ended,
        errors,
        code,
        seconds: clock.elapsed().as_secs_f64(),
    };
    // Under policy.rollout the run moves the plan's members step by step,
    // from where the journal says the rollout is (docs/rollouts.md).
    let blocking = desired
        .as_ref()
        .and_then(|d| d.policy.rollout.as_ref())
        .map(|r| (r, prepare::rollout(r, &req.desired, &state_dir, tgt.now())));
    // A rollout under way runs even when nothing moves forward: its
    // analysis judges the moved members, and a rollback moves them back.
    let under_way = blocking.as_ref().is_some_and(|(_, b)| {
        b.carried()
            .is_some_and(|m| m.phase != crate::plan::rollout::Phase::Complete)
    });
    if plan.steps.is_empty() && !under_way {
        let mut errors = Vec::new();
        if let Err(e) = tgt.save() {
            errors.push(format!(
                "error: cannot save the target {}: {e}",
                req.target_name
            ));
        }
        let code = if !errors.is_empty() {
            exit::ERROR
        } else if plan.blocked.is_empty() {
            exit::OK
        } else {
            exit::NOT_CONVERGED
        };
        notices.nothing_to_apply(&runtime, &plan);
        drop(lock);
        notices.close(&runtime, ui);
        return Ok(outcome(plan, Ended::NothingToApply, code, errors));
    }
    // Change windows and the approval gate (docs/gates.md): judged on
    // the topology, or on what a saved plan recorded of them.
    let gate = match (&desired, &saved_plan, &req.planfile) {
        (Some(d), ..) => crate::run::gates::apply::check_apply(
            d,
            &start,
            &req.desired,
            &state_dir,
            crate::run::gates::now()?,
            req.ignore_windows,
            req.auto_approve,
        ),
        // A saved plan recorded its gates when `plan --out` made it.
        (None, Some(p), Some(file)) => super::saved_gates::check(
            p,
            &super::saved_gates::Asked {
                planfile: file,
                state_dir: &state_dir,
                now: crate::run::gates::now()?,
                ignore_windows: req.ignore_windows,
                auto_approve: req.auto_approve,
            },
        ),
        _ => Ok(Default::default()),
    };
    let gate = match gate {
        Ok(g) => g,
        Err(e) => {
            ui.note(&e);
            notices.held(&runtime, &e);
            drop(lock);
            notices.close(&runtime, ui);
            return Ok(outcome(plan, Ended::Gated, exit::GATED, Vec::new()));
        }
    };
    for n in &gate.notes {
        ui.note(n);
    }
    let blocking = blocking.map(|(r, b)| {
        ui.note(&prepare::announce(r, b.carried()));
        b
    });
    if !req.auto_approve && !ui.confirm(&plan, &req.target_name) {
        ui.note("Apply cancelled: nothing was changed.");
        return Ok(outcome(plan, Ended::Declined, exit::ERROR, Vec::new()));
    }
    if let Some(digest) = &gate.approve_on_yes {
        crate::run::gates::apply::approve(&state_dir, digest, &req.target_name)?;
    }
    let cancel = Cancel::new();
    let opts = EngineOptions {
        seed: req.seed,
        cancel: cancel.clone(),
        ..EngineOptions::from_policy(&policy)
    };
    ui.watch_interrupt(cancel.clone());
    let mut journal = match Journal::open(&state_dir) {
        Ok(j) => Some(j),
        Err(e) => {
            ui.note(&format!(
                "warning: cannot open the journal in {}: {e}; applying without it",
                state_dir.display()
            ));
            None
        }
    };
    let info = RunInfo {
        run: journal::new_run_id(),
        command: "apply".into(),
        target: req.target_name.clone(),
        revision: revision.clone(),
        user: crate::run::origin::os_user(),
        // The commit of the desired files, or of the saved plan.
        commit: crate::run::origin::git_commit(if req.desired.is_empty() {
            req.planfile.as_slice()
        } else {
            &req.desired
        }),
    };
    // The forecast, to compare with at the end (a saved plan's figures).
    let cost = plan.forecast.as_ref().map_or(*policy.cost, |f| f.cost);
    let forecast = crate::plan::forecast::forecast(&plan, &policy, &cost);
    let started = journal::now_rfc3339();
    let running = std::time::Instant::now();
    let job = Job {
        plan: &plan,
        start: &start,
        desired: desired.as_ref(),
        opts: &opts,
        info: &info,
    };
    notices.started(&runtime, &plan);
    let (result, rollout): (RunResult, _) = match (blocking, &desired) {
        (Some(b), Some(d)) => {
            let (result, r) = runtime.block_on(super::rollout::run(
                &mut tgt,
                job,
                d,
                b,
                journal.as_mut(),
                &mut *ui,
                &cancel,
            ));
            (result, Some(r))
        }
        _ => {
            ui.run_started(&plan);
            let result = runtime.block_on(super::run(&mut tgt, job, journal.as_mut(), &mut *ui));
            ui.run_finished();
            (result, None)
        }
    };
    if let Some(e) = &result.journal_error {
        ui.note(&format!(
            "warning: the journal in {} could not be written ({e}); the apply itself is unaffected",
            state_dir.display()
        ));
    }
    let forecast = crate::execute::compare(
        forecast,
        (first_observe + running.elapsed()).as_secs_f64(),
        &result.report,
        tgt.counters(),
    );
    let saved = tgt.save();
    drop(lock);
    notices.finished(&runtime, &plan, &result);
    notices.close(&runtime, ui);
    let mut code = result.outcome.exit_code();
    let mut errors = Vec::new();
    if let Err(e) = saved {
        errors.push(format!(
            "error: cannot save the target {}: {e}",
            req.target_name
        ));
        code = exit::ERROR;
    }
    let ran = Ran {
        info,
        started,
        finished: journal::now_rfc3339(),
        result,
        forecast,
        rollout,
    };
    Ok(outcome(plan, Ended::Ran(Box::new(ran)), code, errors))
}

/// Where the desired state came from, for notifications: the desired
/// paths, or the plan file.
fn source_of(req: &Request) -> String {
    match &req.planfile {
        Some(p) => p.display().to_string(),
        None => req
            .desired
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}
