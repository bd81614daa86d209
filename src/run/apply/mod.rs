//! One `apply` run against a target: journal the run and every operation,
//! apply the plan once with the executor, and judge the result.
//!
//! Owns the run's bookkeeping around [`execute::apply_plan`]: the journal
//! records (run started, each operation as it is applied, awaits and skips
//! at the end, run finished), the [`Verdict`], and the stale-plan check
//! ([`stale`]); the run report is written by [`crate::report::run`]. Generic over any `Provider + Clock` (+ [`Inspect`]
//! for stranded members), so the CLI and the crash tests run the same code.
//! Must not parse arguments, print or prompt. The whole use case around a
//! run (lock, plan, confirmation, interrupt, save) is [`interactive`].

pub mod interactive;
mod journaled;
pub mod notify;
pub mod prepare;
pub mod rollout;
pub mod saved_gates;
pub mod stale;
pub mod ui;

use crate::execute::{self, EngineOptions, EngineReport, Inspect, Progress, StepOutcome};
use crate::model::{Observed, Topology};
use crate::plan::Plan;
use crate::provider::{Clock, Provider, Scope};
use crate::state::journal::{Journal, Record, now_rfc3339};
use crate::verdict::Verdict;
use journaled::Journaled;

/// Who runs what, for the journal and the report.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The run's id ([`crate::state::journal::new_run_id`]).
    pub run: String,
    /// `apply`.
    pub command: String,
    /// The target as given on the command line.
    pub target: String,
    /// The desired revision.
    pub revision: String,
    /// The OS user running it ([`crate::run::origin::os_user`]).
    pub user: String,
    /// The git commit of the desired files ([`crate::run::origin`]).
    pub commit: String,
}

impl RunInfo {
    /// The journal record that opens this run, stamped `at`: the one
    /// `run_started` every applying path (an `apply` run, a reconcile pass,
    /// the leader's pass) writes.
    pub fn started(&self, at: String) -> Record {
        Record::RunStarted {
            run: self.run.clone(),
            at,
            command: self.command.clone(),
            target: self.target.clone(),
            revision: self.revision.clone(),
            user: self.user.clone(),
            commit: self.commit.clone(),
        }
    }
}

/// What [`run`] did.
#[derive(Debug)]
pub struct RunResult {
    /// The executor's report.
    pub report: EngineReport,
    /// The verdict.
    pub outcome: Verdict,
    /// Stranded members, from the target.
    pub stranded: Vec<crate::name::Name>,
    /// The final observation did not converge (members off their desired
    /// parents or primary) although the pass itself left nothing behind.
    pub still_differs: usize,
    /// The first journal write that failed (the run carried on).
    pub journal_error: Option<std::io::Error>,
}

/// What one run applies.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The observation it was made from (or, for a saved plan, checked
    /// against).
    pub start: &'a Observed,
    /// The desired topology, when known: the final observation is judged
    /// against it.
    pub desired: Option<&'a Topology>,
    /// Window, timeouts, retries, cancellation.
    pub opts: &'a EngineOptions,
    /// Who runs what.
    pub info: &'a RunInfo,
}

/// Applies `job.plan` (made from `job.start`) once, journalling as it goes,
/// and judges the result. With `job.desired`, a final full observation must
/// also classify as converged for [`Verdict::Converged`].
pub async fn run<T: Provider + Clock + Inspect>(
    target: &mut T,
    job: Job<'_>,
    mut journal: Option<&mut Journal>,
    progress: &mut dyn Progress,
) -> RunResult {
    let mut journal_error = None;
    open_run(job.info, journal.as_deref_mut(), &mut journal_error);
    let report = execute_pass(
        target,
        job.plan,
        job.start,
        job.opts,
        job.info,
        journal.as_deref_mut(),
        progress,
        &mut journal_error,
    )
    .await;
    let left_behind = !report.pending.is_empty()
        || !report.failed.is_empty()
        || !job.plan.blocked.is_empty()
        || report.count(|o| matches!(o, StepOutcome::NotStarted { .. })) > 0;
    finish_run(
        target,
        report,
        left_behind,
        job,
        journal,
        journal_error,
        false,
    )
    .await
}

/// Keeps the first journal error (the run carries on without it).
fn note(slot: &mut Option<std::io::Error>, e: std::io::Error) {
    tracing::warn!(error = %e, "cannot write the journal; carrying on");
    slot.get_or_insert(e);
}

/// Writes the `run_started` record that opens `info`'s run.
pub(crate) fn open_run(
    info: &RunInfo,
    journal: Option<&mut Journal>,
    error: &mut Option<std::io::Error>,
) {
    if let Some(j) = journal
        && let Err(e) = j.append(&info.started(now_rfc3339()))
    {
        note(error, e);
    }
}

/// Applies one plan through the executor with every operation journalled
/// as it happens, then the awaits and skips in one batch: one pass of a
/// run (an `apply` without a rollout has exactly one; a rollout's
/// blocking run has one per step and poll, [`rollout`]).
#[allow(clippy::too_many_arguments)] // the pieces of one run, passed through
pub(crate) async fn execute_pass<T: Provider + Clock>(
    target: &mut T,
    plan: &Plan,
    start: &Observed,
    opts: &EngineOptions,
    info: &RunInfo,
    mut journal: Option<&mut Journal>,
    progress: &mut dyn Progress,
    error: &mut Option<std::io::Error>,
) -> EngineReport {
    let report = {
        let mut wrapped = Journaled::new(target, journal.as_deref_mut(), &info.run, plan);
        let report = execute::apply_plan(&mut wrapped, plan, opts, start, progress).await;
        wrapped.sync();
        if let Some(e) = wrapped.error.take() {
            note(error, e);
        }
        report
    };
    // Awaits and skips, in one batch at the end (operations were journalled
    // as they happened).
    if let Some(j) = journal {
        let at = now_rfc3339();
        let batch: Vec<Record> = report
            .steps
            .iter()
            .filter_map(|s| {
                let outcome = match &s.outcome {
                    StepOutcome::Satisfied => "satisfied",
                    StepOutcome::Skipped => "skipped",
                    StepOutcome::TimedOut => "timed_out",
                    _ => return None,
                };
                Some(Record::Step {
                    run: info.run.clone(),
                    at: at.clone(),
                    step: s.id,
                    action: s.action.to_string(),
                    name: s.name.to_string(),
                    outcome: outcome.to_string(),
                    detail: String::new(),
                })
            })
            .collect();
        if let Err(e) = j.append_batch(&batch) {
            note(error, e);
        }
    }
    report
}

/// Ends a run: lets members that need no bridge settle, looks for stranded
/// members, observes the whole estate once more against `job.desired`,
/// judges the verdict and writes `run_finished`. `left_behind` says the
/// run's passes left something undone (pending, failed, blocked, not
/// started); `held` says something kept members back on purpose (a
/// rollout that stopped before its end): the run then has not converged
/// either.
pub(crate) async fn finish_run<T: Provider + Clock + Inspect>(
    target: &mut T,
    report: EngineReport,
    left_behind: bool,
    job: Job<'_>,
    journal: Option<&mut Journal>,
    mut journal_error: Option<std::io::Error>,
    held: bool,
) -> RunResult {
    let Job {
        plan,
        desired,
        opts,
        info,
        ..
    } = job;
    // Members whose change needed no bridge (their new primary was already
    // a failover) reach it on their own, after learning their configuration
    // and at their next retry. A target that can tell (the simulator) is
    // given up to ackTimeout to settle before the final check, so such a
    // member is not reported as differing; real targets say nothing here
    // and the final check reports what it sees.
    if !report.cancelled {
        let mut waited = std::time::Duration::ZERO;
        while target.settling() && waited < opts.ack_timeout {
            target.sleep(opts.poll_interval).await;
            waited += opts.poll_interval;
        }
    }
    for s in &report.steps {
        if let StepOutcome::Failed { reason } = &s.outcome {
            tracing::warn!(member = %s.name, step = s.id, action = s.action, %reason, "change failed");
        }
    }
    let stranded = target.stranded();
    let mut still_differs = 0;
    if let Some(desired) = desired
        && !report.cancelled
        && stranded.is_empty()
    {
        match target.observe(&Scope::All).await {
            Ok(o) => {
                let v = execute::classify(desired, &o);
                still_differs = v.parents_differ.len() + v.not_on_primary.len();
                if !v.store_ok {
                    still_differs += 1;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "final observation failed");
                still_differs = 1;
            }
        }
    }
    let outcome = if !stranded.is_empty() {
        Verdict::Stranded
    } else if report.cancelled {
        Verdict::Interrupted
    } else if left_behind || held || still_differs > 0 {
        Verdict::NotConverged
    } else {
        Verdict::Converged
    };
    if let Some(j) = journal
        && let Err(e) = j.append(&Record::RunFinished {
            run: info.run.clone(),
            at: now_rfc3339(),
            outcome: outcome.as_str().to_string(),
            applied: report.steps_applied,
            pending: report.pending.len() as u64,
            blocked: plan.blocked.len() as u64,
        })
    {
        note(&mut journal_error, e);
    }
    RunResult {
        report,
        outcome,
        stranded,
        still_differs,
        journal_error,
    }
}

#[cfg(test)]
mod tests;
