//! A progressive rollout at the edges: the planner a rehearsal (and, in
//! time, a reconcile loop) drives pass after pass, and the timeline of
//! what the rollout did.
//!
//! Owns [`RolloutPlanner`] (keeps the rollout's memory between passes,
//! reads the pass's clock, asks the pure [`crate::plan::rollout::decide`]
//! and plans through [`crate::plan::admit::hold`], the one admission seam)
//! and [`admission`], the decision every caller shares; [`gate`] is a
//! reconcile pass's rollout, its memory kept in the journal, and
//! [`blocking`] the rollout of one blocking `apply` run (the same planner,
//! its memory in the same journal records). Must not decide anything
//! itself (the core does) and must not print.

pub mod blocking;
pub mod gate;

use crate::assign::{self, Assignment};
use crate::execute::Planner;
use crate::model::{Observed, Rollout, Topology};
use crate::plan::admit::hold;
use crate::plan::rollout::{Decision, Event, Memory, Status, decide};
use crate::plan::{Plan, plan_assigned};
use serde::Serialize;
use std::time::Duration;

/// One transition of a rollout, with the clock reading it happened at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timed {
    /// Seconds on the pass's clock (virtual time in a rehearsal).
    pub at: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// The rollout's decision for one pass: its admission, its rollback
/// targets, and the desired state and assignment to hand to
/// [`crate::plan::admit::hold`] (the rollback applied). `None` when the
/// topology has no `policy.rollout`: the pass plans as before.
pub fn admission(
    desired: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    memory: Option<Memory>,
    revision: &str,
    now: u64,
) -> Option<(Decision, Topology, Assignment)> {
    let rollout = desired.policy.rollout.as_ref()?;
    let dec = decide(
        rollout, memory, revision, desired, observed, assignment, now,
    );
    let (d, a) = dec.apply(desired, assignment);
    Some((dec, d, a))
}

/// Plans each pass of a rehearsal under `policy.rollout`: keeps the
/// memory, records the transitions, and wakes the cycle when a soak ends.
#[derive(Debug)]
pub struct RolloutPlanner {
    revision: String,
    memory: Option<Memory>,
    /// The last pass's status.
    pub status: Option<Status>,
    /// Every transition, in order.
    pub timeline: Vec<Timed>,
}

impl RolloutPlanner {
    /// A planner for the revision `revision` (any text that changes with
    /// the desired state).
    pub fn new(revision: &str) -> Self {
        RolloutPlanner {
            revision: revision.to_string(),
            memory: None,
            status: None,
            timeline: Vec::new(),
        }
    }

    /// A planner for `revision` that carries on from `memory` (what an
    /// earlier run left in the journal; `None` starts afresh).
    pub fn resuming(revision: &str, memory: Option<Memory>) -> Self {
        RolloutPlanner {
            memory,
            ..RolloutPlanner::new(revision)
        }
    }

    /// What the rollout remembers now, for the journal.
    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_ref()
    }

    /// What the rehearsal reports: the policy's steps, every transition
    /// and where the rollout ended.
    pub fn report<'a>(&'a self, rollout: &'a Rollout) -> RolloutReport<'a> {
        RolloutReport {
            steps: &rollout.steps,
            on_failure: rollout.on_failure.as_str(),
            timeline: &self.timeline,
            last: self.status.as_ref(),
        }
    }
}

/// The `rollout` object of `simulate --format json` (docs/rollouts.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport<'a> {
    /// The policy's steps.
    pub steps: &'a [crate::model::Step],
    /// `pause` or `rollback`.
    pub on_failure: &'a str,
    /// Every transition, with its virtual time.
    pub timeline: &'a [Timed],
    /// Where the rollout ended.
    pub last: Option<&'a Status>,
}

/// The cycle borrows the planner, so the caller reads its timeline after.
impl Planner for &mut RolloutPlanner {
    fn plan(&mut self, desired: &Topology, observed: &Observed, clock: Duration) -> Plan {
        (**self).plan(desired, observed, clock)
    }

    fn wake_at(&self) -> Option<Duration> {
        (**self).wake_at()
    }
}

impl RolloutPlanner {
    /// The rollout's decision for one pass at `clock` (the target's
    /// clock), the memory kept and the transitions recorded: its
    /// admission, and the desired state and assignment (any rollback
    /// written in) to hold against. `None` without `policy.rollout`.
    pub fn admit(
        &mut self,
        desired: &Topology,
        observed: &Observed,
        assignment: &Assignment,
        clock: Duration,
    ) -> Option<(Decision, Topology, Assignment)> {
        let now = clock.as_secs();
        let (dec, d, a) = admission(
            desired,
            observed,
            assignment,
            self.memory.take(),
            &self.revision,
            now,
        )?;
        for e in &dec.events {
            tracing::info!(at = now, event = ?e, "rollout");
        }
        self.timeline.extend(
            dec.events
                .iter()
                .cloned()
                .map(|event| Timed { at: now, event }),
        );
        self.status = Some(dec.status.clone());
        self.memory = Some(dec.memory.clone());
        Some((dec, d, a))
    }
}

impl Planner for RolloutPlanner {
    fn plan(&mut self, desired: &Topology, observed: &Observed, clock: Duration) -> Plan {
        let Ok((assignment, _)) = assign::resolve_lenient(desired, observed) else {
            return crate::plan::plan(desired, observed);
        };
        let Some((dec, d, a)) = self.admit(desired, observed, &assignment, clock) else {
            return plan_assigned(desired, observed, &assignment);
        };
        let (d, a, _held) = hold(&d, observed, &a, &|s| dec.admits(s));
        plan_assigned(&d, observed, &a)
    }

    fn wake_at(&self) -> Option<Duration> {
        self.status
            .as_ref()
            .and_then(|s| s.soak_until)
            .map(Duration::from_secs)
    }
}
