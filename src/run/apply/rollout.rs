//! `apply` under `policy.rollout`: the steps in one blocking run
//! (docs/rollouts.md, "In one apply").
//!
//! Owns the run's loop: observe the whole estate, take the rollout's pass
//! ([`Blocking::pass`]: the same planner and decision as a rehearsal, the
//! memory in the journal records `reconcile` reads), apply what it admits
//! through the same journalled executor as any apply
//! ([`super::execute_pass`]), then, by [`next`], go on at once, wait a poll
//! interval (a soak, members settling) or stop; and the one report of
//! the whole run ([`merge`]). Level-triggered: each pass judges from a fresh
//! observation; the memory only paces. Must not decide which members move
//! (the core does) and must not print: the person sees it through
//! [`Ui::rollout`].

use super::ui::Ui;
use super::{Job, RunResult, execute_pass, finish_run, open_run};
use crate::execute::{Cancel, EngineReport, Inspect, StepOutcome};
use crate::model::Topology;
use crate::plan::rollout::Phase;
use crate::provider::{Clock, Provider, Scope};
use crate::run::rollout::blocking::{Blocking, Next, RolloutRun, Stop, next};
use crate::state::journal::Journal;
use std::time::Duration;
use tracing::Instrument;

/// Runs the rollout of `desired` from `job.start` until it is complete,
/// holds, leaves something behind, or `cancel` is set; returns the run's
/// result (one report for all its passes) and what the rollout did.
pub async fn run<T: Provider + Clock + Inspect>(
    target: &mut T,
    job: Job<'_>,
    desired: &Topology,
    mut blocking: Blocking,
    mut journal: Option<&mut Journal>,
    ui: &mut dyn Ui,
    cancel: &Cancel,
) -> (RunResult, RolloutRun) {
    let mut journal_error = None;
    open_run(job.info, journal.as_deref_mut(), &mut journal_error);
    let t0 = target.now();
    let mut report: Option<EngineReport> = None;
    let mut observed = job.start.clone();
    let mut observes = 0u64;
    let mut idle_since = blocking.seconds(target.now());
    // Passes in a row that left members pending or failed.
    let mut behind = 0u32;
    let poll = job.opts.poll_interval.max(Duration::from_secs(1));
    let stop = loop {
        let seen = blocking.timeline_len();
        let (plan, record) = blocking.pass(desired, &observed, target.now());
        if let (Some(j), Some(r)) = (journal.as_deref_mut(), record)
            && let Err(e) = j.append(&r)
        {
            tracing::warn!(error = %e, "cannot write the rollout's state to the journal");
            journal_error.get_or_insert(e);
        }
        let Some(status) = blocking.status().cloned() else {
            // No assignment could be made: nothing the rollout can pace.
            break Stop::Stuck("the desired agents could not be assigned".into());
        };
        let now = blocking.seconds(target.now());
        ui.rollout(
            &status,
            &blocking.new_events(seen),
            status
                .soak_until
                .map(|u| Duration::from_secs(u.saturating_sub(now))),
        );
        if cancel.is_cancelled() {
            break Stop::Interrupted;
        }
        let step = next(&status, &plan, now, idle_since, poll, job.opts.ack_timeout);
        // After a pass that left members pending or failed, one more pass
        // lets the analysis judge what happened (a gateway that went down
        // under its new agents), and a rollback it starts runs; anything
        // else stops there, as a plain apply does.
        let step = match (behind, step) {
            (0, s) | (_, s @ Next::Stop(_)) => s,
            (1, Next::Apply) if status.phase == Phase::RollingBack => Next::Apply,
            _ => Next::Stop(Stop::LeftBehind),
        };
        match step {
            Next::Stop(s) => break s,
            Next::Apply => {
                let span = tracing::info_span!(
                    "rollout_step",
                    step = status.step,
                    steps = status.steps,
                    phase = status.phase.as_str()
                );
                ui.run_started(&plan);
                let r = execute_pass(
                    target,
                    &plan,
                    &observed,
                    job.opts,
                    job.info,
                    journal.as_deref_mut(),
                    &mut *ui,
                    &mut journal_error,
                )
                .instrument(span)
                .await;
                ui.run_finished();
                let cancelled = r.cancelled;
                behind = if left_behind(&r) { behind + 1 } else { 0 };
                let changed = r.steps_applied > 0 || r.awaits_satisfied > 0;
                merge(&mut report, r);
                if cancelled {
                    break Stop::Interrupted;
                }
                let now = blocking.seconds(target.now());
                if changed || behind > 0 {
                    idle_since = now;
                } else {
                    // A plan whose every write already held: let the
                    // estate move before planning again, and give up
                    // after ackTimeout of such passes.
                    if now.saturating_sub(idle_since) >= job.opts.ack_timeout.as_secs() {
                        break Stop::Stuck(
                            "passes found nothing left to write, yet the estate did not reach the desired parents"
                                .into(),
                        );
                    }
                    if !wait(target, poll, cancel).await {
                        break Stop::Interrupted;
                    }
                }
            }
            Next::Wait(d) => {
                if status.phase != Phase::Moving && status.phase != Phase::RollingBack {
                    idle_since = now;
                }
                tracing::debug!(wait = ?d, phase = status.phase.as_str(), "rollout waits");
                if !wait(target, d, cancel).await {
                    break Stop::Interrupted;
                }
            }
        }
        observes += 1;
        match target.observe(&Scope::All).await {
            Ok(o) => observed = o,
            Err(e) => {
                break Stop::Unobserved(format!("cannot observe the estate: {e}"));
            }
        }
    };
    let mut report = report.unwrap_or_else(|| EngineReport {
        cancelled: stop == Stop::Interrupted,
        ..EngineReport::default()
    });
    report.cancelled |= stop == Stop::Interrupted;
    report.observe_calls += observes;
    report.clock_seconds = target.now().saturating_sub(t0).as_secs_f64();
    let left = matches!(
        stop,
        Stop::LeftBehind | Stop::Stuck(_) | Stop::Unobserved(_)
    );
    let held = stop != Stop::Complete;
    let result = finish_run(target, report, left, job, journal, journal_error, held).await;
    (result, blocking.finish(stop))
}

/// A pass that left something undone: the run stops there, as a plain
/// apply does (run it again to carry on).
fn left_behind(r: &EngineReport) -> bool {
    !r.pending.is_empty()
        || !r.failed.is_empty()
        || r.count(|o| matches!(o, StepOutcome::NotStarted { .. })) > 0
}

/// Waits `d` on the target's clock; false when `cancel` was set first
/// (Ctrl-C during a soak stops at once, not at the end of the poll).
async fn wait<T: Clock>(target: &mut T, d: Duration, cancel: &Cancel) -> bool {
    if cancel.is_cancelled() {
        return false;
    }
    let watch = async {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        () = target.sleep(d) => !cancel.is_cancelled(),
        () = watch => false,
    }
}

/// Adds one pass's report to the run's: every step in order, the counters
/// summed; pending, waiting and in-bridge members as the last pass left
/// them (each pass plans again every member still in a bridge); failed
/// members from every pass.
pub fn merge(into: &mut Option<EngineReport>, r: EngineReport) {
    let Some(a) = into else {
        *into = Some(r);
        return;
    };
    a.steps.extend(r.steps);
    a.pending = r.pending;
    a.waiting = r.waiting;
    a.in_bridge = r.in_bridge;
    a.failed.extend(r.failed);
    a.failed.sort();
    a.failed.dedup();
    a.cancelled |= r.cancelled;
    a.max_in_flight = a.max_in_flight.max(r.max_in_flight);
    a.steps_applied += r.steps_applied;
    a.awaits_satisfied += r.awaits_satisfied;
    a.skipped += r.skipped;
    a.provider_calls += r.provider_calls;
    a.observe_calls += r.observe_calls;
    a.retries += r.retries;
    a.process_starts += r.process_starts;
    a.session_restarts += r.session_restarts;
    a.bridged += r.bridged;
    a.acknowledged += r.acknowledged;
    a.pruned += r.pruned;
    a.set_directly += r.set_directly;
    a.clock_seconds += r.clock_seconds;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;

    fn report(applied: u64, pending: &[&str], failed: &[&str]) -> EngineReport {
        EngineReport {
            steps_applied: applied,
            bridged: applied,
            provider_calls: applied,
            max_in_flight: applied as usize,
            pending: pending.iter().map(|n| Name::parse(n).unwrap()).collect(),
            failed: failed.iter().map(|n| Name::parse(n).unwrap()).collect(),
            clock_seconds: 1.0,
            ..EngineReport::default()
        }
    }

    #[test]
    fn passes_add_up_and_the_last_pass_says_who_is_still_pending() {
        let mut run = None;
        merge(&mut run, report(3, &["a"], &["x"]));
        merge(&mut run, report(2, &[], &["x", "y"]));
        let r = run.unwrap();
        assert_eq!(r.steps_applied, 5);
        assert_eq!(r.bridged, 5);
        assert_eq!(r.provider_calls, 5);
        assert_eq!(r.max_in_flight, 3);
        assert_eq!(r.clock_seconds, 2.0);
        // `a` was picked up again by the second pass and finished there.
        assert!(r.pending.is_empty());
        assert_eq!(
            r.failed,
            vec![Name::parse("x").unwrap(), Name::parse("y").unwrap()]
        );
        assert!(!r.cancelled);
    }

    #[test]
    fn a_pass_with_a_pending_member_stops_the_run_and_a_clean_one_does_not() {
        assert!(left_behind(&report(1, &["a"], &[])));
        assert!(left_behind(&report(1, &[], &["a"])));
        assert!(!left_behind(&report(1, &[], &[])));
    }
}
