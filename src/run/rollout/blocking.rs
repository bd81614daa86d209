//! A progressive rollout in one blocking `apply` run (docs/rollouts.md,
//! "In one apply"): where the rollout stands, from the journal; each
//! pass's plan through [`RolloutPlanner`]; the memory written back in the
//! `rollout_state` records `reconcile` reads; and what the run does after
//! each pass ([`next`]).
//!
//! Owns [`Blocking`] (the planner, the run's clock mapped onto Unix
//! seconds, the record to journal), [`next`] and [`Stop`] (pure: apply,
//! wait or stop, and why) and [`RolloutRun`], what the run reports. Must
//! not touch the target, print, or decide anything the core decides
//! ([`crate::plan::rollout::decide`], through the planner).

use super::{RolloutPlanner, RolloutReport, Timed, gate};
use crate::execute::Planner;
use crate::model::{Observed, Rollout, Topology};
use crate::plan::Plan;
use crate::plan::rollout::{Event, Memory, Phase, Status};
use crate::state::journal::{self, Record};
use std::time::Duration;

/// The rollout of one blocking run.
#[derive(Debug)]
pub struct Blocking {
    planner: RolloutPlanner,
    rollout: Rollout,
    /// The memory the journal held when the run began.
    carried: Option<Memory>,
    /// Unix seconds when the run began.
    origin: u64,
    /// The target's clock when the run began.
    t0: Duration,
}

impl Blocking {
    /// The rollout of `revision`, carrying on from the memory the
    /// journal's `records` hold for it ([`gate::memory`]: the last
    /// `rollout_state` of this revision, a later `handover resume`
    /// applied). `unix_now` and `target_now` are read together: from then
    /// on the run's seconds are `unix_now` plus the target's clock since,
    /// so soaks run on the wall clock against a real target and on the
    /// simulator's clock against `sim:`, and are written in the Unix
    /// seconds `reconcile` uses.
    pub fn new(
        rollout: &Rollout,
        revision: &str,
        records: &[Record],
        unix_now: u64,
        target_now: Duration,
    ) -> Self {
        let carried = gate::memory(records, rollout, revision);
        Blocking {
            planner: RolloutPlanner::resuming(revision, carried.clone()),
            rollout: rollout.clone(),
            carried,
            origin: unix_now,
            t0: target_now,
        }
    }

    /// The memory the journal held when the run began (`None`: the
    /// rollout starts at its first step).
    pub fn carried(&self) -> Option<&Memory> {
        self.carried.as_ref()
    }

    /// The run's seconds when the target's clock reads `target_now`.
    pub fn seconds(&self, target_now: Duration) -> u64 {
        self.origin + target_now.saturating_sub(self.t0).as_secs()
    }

    /// One pass: the rollout's decision on `observed` at `target_now` and
    /// the plan it admits; with the `rollout_state` record to append when
    /// the memory changed (the pass's transitions as its `events`).
    pub fn pass(
        &mut self,
        desired: &Topology,
        observed: &Observed,
        target_now: Duration,
    ) -> (Plan, Option<Record>) {
        let before = self.planner.memory().cloned();
        let seen = self.planner.timeline.len();
        let now = Duration::from_secs(self.seconds(target_now));
        let plan = self.planner.plan(desired, observed, now);
        let record = match self.planner.memory() {
            Some(m) if before.as_ref() != Some(m) => Some(Record::RolloutState {
                at: journal::now_rfc3339(),
                state: Box::new(m.clone()),
                events: self.events_since(seen).to_vec(),
            }),
            _ => None,
        };
        (plan, record)
    }

    /// The transitions since the timeline had `seen` entries.
    fn events_since(&self, seen: usize) -> Vec<Event> {
        self.planner.timeline[seen..]
            .iter()
            .map(|t| t.event.clone())
            .collect()
    }

    /// The transitions of the last pass (since the timeline had `seen`
    /// entries), for the person watching.
    pub fn new_events(&self, seen: usize) -> Vec<Event> {
        self.events_since(seen)
    }

    /// Transitions so far.
    pub fn timeline_len(&self) -> usize {
        self.planner.timeline.len()
    }

    /// Where the rollout is after the last pass.
    pub fn status(&self) -> Option<&Status> {
        self.planner.status.as_ref()
    }

    /// What the run reports, once it ended as `stop`: times in seconds
    /// since the run began (as a rehearsal's are since it began).
    pub fn finish(self, stop: Stop) -> RolloutRun {
        let rel = |t: u64| t.saturating_sub(self.origin);
        let timeline = self
            .planner
            .timeline
            .iter()
            .map(|t| Timed {
                at: rel(t.at),
                event: match &t.event {
                    Event::SoakStarted { step, until } => Event::SoakStarted {
                        step: *step,
                        until: rel(*until),
                    },
                    e => e.clone(),
                },
            })
            .collect();
        let last = self.planner.status.clone().map(|mut s| {
            s.soak_until = s.soak_until.map(rel);
            s
        });
        RolloutRun {
            policy: self.rollout,
            timeline,
            last,
            stop,
        }
    }
}

/// Why a blocking run stopped taking passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every step passed and the rest of the revision moved.
    Complete,
    /// The rollout holds: a manual pause, a failed analysis, or a rollback
    /// done. It waits for `handover resume`.
    Held,
    /// A pass left members pending, failed or not started (each is safe):
    /// run apply again.
    LeftBehind,
    /// The rollout's members cannot move: the planner blocks them, or
    /// nothing changed for `ackTimeout`. The reason, in words.
    Stuck(String),
    /// The person interrupted the run.
    Interrupted,
    /// The estate could not be observed between passes: the reason.
    Unobserved(String),
}

/// What a blocking run does after a pass planned `plan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Apply the plan, then take the next pass at once.
    Apply,
    /// Wait this long (a poll interval, or the rest of a soak), observe
    /// again and take the next pass.
    Wait(Duration),
    /// Stop.
    Stop(Stop),
}

/// After a pass: apply its plan when it has steps; otherwise wait out the
/// soak one poll at a time, or wait for members still settling (at most
/// `ack_timeout` since `idle_since`, when the run's passes last had
/// nothing to do), or stop where the rollout holds or is complete. `now`
/// and `idle_since` are the run's seconds.
pub fn next(
    status: &Status,
    plan: &Plan,
    now: u64,
    idle_since: u64,
    poll: Duration,
    ack_timeout: Duration,
) -> Next {
    if !plan.steps.is_empty() {
        return Next::Apply;
    }
    match status.phase {
        Phase::Complete => Next::Stop(Stop::Complete),
        Phase::Paused | Phase::AnalysisFailed | Phase::RolledBack => Next::Stop(Stop::Held),
        Phase::Soaking => {
            let left = status.soak_until.map_or(0, |u| u.saturating_sub(now));
            Next::Wait(poll.min(Duration::from_secs(left.max(1))))
        }
        Phase::Moving | Phase::RollingBack => {
            if let Some(b) = plan.blocked.first() {
                return Next::Stop(Stop::Stuck(format!(
                    "the change of {} cannot start: {}",
                    b.name, b.reason
                )));
            }
            if now.saturating_sub(idle_since) >= ack_timeout.as_secs() {
                return Next::Stop(Stop::Stuck(format!(
                    "step {} of {} made no progress for {} (ackTimeout): its members have not all reached their new primary",
                    status.step,
                    status.steps,
                    crate::model::Seconds(ack_timeout.as_secs())
                )));
            }
            Next::Wait(poll)
        }
    }
}

/// What a blocking run's rollout did: its policy, every transition and
/// where it ended, and why the run stopped.
#[derive(Clone, Debug)]
pub struct RolloutRun {
    /// The policy.
    pub policy: Rollout,
    /// Every transition of this run, in seconds since the run began.
    pub timeline: Vec<Timed>,
    /// Where the rollout ended (`soakUntil` in seconds since the run
    /// began).
    pub last: Option<Status>,
    /// Why the run stopped.
    pub stop: Stop,
}

impl RolloutRun {
    /// The `rollout` object of `apply --format json`: the shape of
    /// `simulate --format json`'s.
    pub fn report(&self) -> RolloutReport<'_> {
        RolloutReport {
            steps: &self.policy.steps,
            on_failure: self.policy.on_failure.as_str(),
            timeline: &self.timeline,
            last: self.last.as_ref(),
        }
    }

    /// Where the rollout ended, and exactly what to do next, in words:
    /// `resume` is the `handover resume` command for this target and
    /// `again` the apply to run after it.
    pub fn outcome(&self, resume: &str, again: &str) -> String {
        let Some(s) = &self.last else {
            return String::new();
        };
        let at = format!("step {} of {}", s.step, s.steps);
        let reasons = || {
            let r = &s.analysis.reasons;
            if r.is_empty() {
                s.reason.clone().unwrap_or_default()
            } else {
                r.join("; ")
            }
        };
        match (&self.stop, s.phase) {
            (Stop::Interrupted, _) => format!(
                "Rollout interrupted at {at} ({}); its place is kept in the journal. Run the same apply again to carry on from it.\n",
                s.phase.as_str()
            ),
            (_, Phase::Complete) => {
                "Rollout complete: every step passed its analysis.\n".to_string()
            }
            (_, Phase::Paused) => format!(
                "Rollout paused at {at}, a manual pause: nothing new starts until you say so. Check the members moved so far; to go on, {resume} (recorded in the journal), then {again} again.\n"
            ),
            (_, Phase::AnalysisFailed) => format!(
                "Rollout paused at {at}: the analysis failed: {}.\nNothing new starts; members already moved stay where they are. Fix the cause (or roll back the topology), then {resume} and {again} again: the rollout starts again from its first step over the members still to move.\n",
                reasons()
            ),
            (_, Phase::RolledBack) => format!(
                "Rollout rolled back at {at}: the analysis failed ({}), and every rolled-back member is on its parents from before the rollout again. Nothing new starts until {resume} and {again} again, or a new revision.\n",
                reasons()
            ),
            (Stop::Stuck(why), _) => format!(
                "Rollout stopped at {at} ({}): {why}. Every member is safe; run the same apply again to carry on.\n",
                s.phase.as_str()
            ),
            (Stop::Unobserved(why), _) => format!(
                "Rollout stopped at {at} ({}): {why}. Every member is safe; run the same apply again to carry on.\n",
                s.phase.as_str()
            ),
            (_, phase) => format!(
                "Rollout stopped at {at} ({}): some members were left pending or failed (see above); run the same apply again to carry on.\n",
                phase.as_str()
            ),
        }
    }
}

#[cfg(test)]
mod tests;
