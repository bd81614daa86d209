//! Progressive rollouts (docs/rollouts.md): which step a revision is at,
//! which members that step may start, when its soak ends, what the
//! analysis says, and what a failure does (pause, or roll back).
//!
//! Owns [`Memory`] (what a rollout remembers between passes: the edges
//! keep it in the journal, or in memory for a rehearsal), [`decide`] (one
//! pass: observation + memory + clock reading in, the admission decision,
//! the rollback targets, the status and the transitions out) and
//! [`Decision::apply`], which writes a rollback into the desired state the
//! planner sees. Admission itself goes through [`super::admit::hold`], the
//! one seam every gate shares. Pure: the caller reads the clock and passes
//! seconds in; no I/O. Must not plan (the planner, with every safety rule,
//! plans from what [`Decision::apply`] and `hold` give it) and must not
//! persist anything.
//!
//! Level-triggered: each pass re-derives progress from the observation
//! (which of the rollout's members have finished their move) and the
//! memory. Losing the memory is safe: a fresh memory counts the members
//! still to move as the whole revision and starts again at the first step
//! with a new soak, so steps get smaller, never larger, and members
//! already in a bridge always finish.

pub mod analysis;
pub mod health;
mod started;
#[cfg(test)]
mod tests;

pub use analysis::{Verdict, VerdictKind, analyse};
pub use started::Started;

use super::admit::{Subject, wanting};
use crate::assign::Assignment;
use crate::hash::{FastMap, FastSet};
use crate::model::{Observed, OnFailure, Parents, Rollout, StepTarget, Topology};
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// Where a rollout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// The current step's members are being moved.
    Moving,
    /// The current step's members have moved; holding and analysing.
    Soaking,
    /// A manual `{pause: true}` step waits for `handover resume`.
    Paused,
    /// The analysis failed and `onFailure` is `pause`: nothing new starts
    /// until `handover resume` or a new revision.
    AnalysisFailed,
    /// The analysis failed and `onFailure` is `rollback`: the failed
    /// members are moving back to their parents from before the rollout.
    RollingBack,
    /// The rollback finished; nothing new starts until `handover resume`
    /// or a new revision.
    RolledBack,
    /// Every step passed; every remaining member may move.
    Complete,
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 7] = [
        Phase::Moving,
        Phase::Soaking,
        Phase::Paused,
        Phase::AnalysisFailed,
        Phase::RollingBack,
        Phase::RolledBack,
        Phase::Complete,
    ];

    /// The phase `/status` spells `s` (`analysisFailed`), if any.
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// As `/status` and the rehearsal JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Moving => "moving",
            Phase::Soaking => "soaking",
            Phase::Paused => "paused",
            Phase::AnalysisFailed => "analysisFailed",
            Phase::RollingBack => "rollingBack",
            Phase::RolledBack => "rolledBack",
            Phase::Complete => "complete",
        }
    }

    /// True when the rollout waits for `handover resume` (or a new
    /// revision) and the estate is reported Degraded.
    pub fn degraded(self) -> bool {
        matches!(
            self,
            Phase::AnalysisFailed | Phase::RollingBack | Phase::RolledBack
        )
    }
}

/// What a rollout remembers between passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// The revision (a commit, or any text that changes with the desired
    /// state) this rollout moves to; another revision starts afresh.
    pub revision: String,
    /// Members the revision moves, counted when the rollout began.
    pub total: u64,
    /// The current step, 0-based; `steps.len()` once complete.
    pub step: usize,
    /// Where the rollout is.
    pub phase: Phase,
    /// When the current step's soak began, in the caller's clock seconds.
    pub soak_from: Option<u64>,
    /// Members started, in the order they were admitted.
    pub started: Vec<Started>,
    /// Members being (or that were) rolled back.
    pub rolled_back: Vec<Name>,
    /// Why the rollout stopped (a failed analysis, a manual pause).
    pub reason: Option<String>,
    /// The reasons of the analysis that failed, while the rollout waits
    /// for a resume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure: Vec<String>,
}

impl Memory {
    /// A rollout that begins now, over the members `wanting` reports.
    fn fresh(revision: &str, total: usize) -> Self {
        Memory {
            revision: revision.to_string(),
            total: total as u64,
            step: 0,
            phase: Phase::Moving,
            soak_from: None,
            started: Vec::new(),
            rolled_back: Vec::new(),
            reason: None,
            failure: Vec::new(),
        }
    }

    /// `handover resume`: a manual pause goes on to the next step; after a
    /// failed analysis or a rollback the rollout starts again from its
    /// first step over the members still to move (the next pass counts
    /// them). Returns `None` for a memory that must be forgotten (start
    /// afresh), and says whether anything waited for the resume.
    pub fn resume(self, rollout: &Rollout) -> (Option<Memory>, bool) {
        match self.phase {
            Phase::Paused => {
                let mut m = self;
                m.reason = None;
                m.step += 1;
                m.phase = if m.step >= rollout.steps.len() {
                    Phase::Complete
                } else {
                    Phase::Moving
                };
                (Some(m), true)
            }
            Phase::AnalysisFailed | Phase::RolledBack | Phase::RollingBack => (None, true),
            _ => (Some(self), false),
        }
    }
}

/// A change of phase or step in one pass, for the journal, the log and
/// the rehearsal's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    /// A step began moving members. (Every `step` of an event is 1-based,
    /// as people count and `/status` shows.)
    StepStarted {
        /// The step, 1-based.
        step: usize,
        /// Members started in all once the step has moved its own.
        target: u64,
    },
    /// The step's members moved; its soak began.
    SoakStarted {
        /// The step, 1-based.
        step: usize,
        /// When the soak ends, in the caller's clock seconds.
        until: u64,
    },
    /// A manual pause step was reached.
    Paused {
        /// The step, 1-based.
        step: usize,
    },
    /// The analysis failed.
    AnalysisFailed {
        /// The step, 1-based.
        step: usize,
        /// Why.
        reasons: Vec<String>,
    },
    /// A rollback began for these members.
    RollbackStarted {
        /// The step, 1-based.
        step: usize,
        /// The members going back.
        members: Vec<Name>,
    },
    /// Every rolled-back member is on its parents from before.
    RolledBack {
        /// The step, 1-based.
        step: usize,
    },
    /// Every step passed.
    Complete,
}

/// What `/status`, the page and the rehearsal show of a rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The current step, 1-based (the number of steps once complete).
    pub step: usize,
    /// Steps in the policy.
    pub steps: usize,
    /// Where the rollout is.
    pub phase: Phase,
    /// When the soak ends, in the caller's clock seconds, while soaking.
    pub soak_until: Option<u64>,
    /// The analysis of this pass.
    pub analysis: Verdict,
    /// Why the rollout stopped, when it did.
    pub reason: Option<String>,
}

/// One pass's decision.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The memory to keep for the next pass.
    pub memory: Memory,
    /// Members the rollout lets start (every other change that has not
    /// started is held).
    admitted: FastSet<Name>,
    /// Members to move back, with the parents they go back to.
    pub rollback: FastMap<Name, Parents>,
    /// What to show.
    pub status: Status,
    /// What changed in this pass.
    pub events: Vec<Event>,
}

impl Decision {
    /// The admit predicate for [`super::admit::hold`]: a member the
    /// rollout started or is rolling back; the Central Management Store
    /// always (a rollout paces members, not the store).
    pub fn admits(&self, s: Subject<'_>) -> bool {
        match s {
            Subject::Member(_, name) => {
                self.admitted.contains(name) || self.rollback.contains_key(name)
            }
            Subject::Store => true,
        }
    }

    /// The desired state and assignment with every member being rolled
    /// back given its parents from before the rollout, so the same planner
    /// moves it back make before break. Unchanged when nothing rolls back.
    pub fn apply(&self, desired: &Topology, assignment: &Assignment) -> (Topology, Assignment) {
        let mut d = desired.clone();
        let mut a = assignment.clone();
        if self.rollback.is_empty() {
            return (d, a);
        }
        for m in d.gateways.iter_mut().chain(d.agents.iter_mut()) {
            if let Some(p) = self.rollback.get(&m.name) {
                m.parents = p.clone();
                m.failover_pos = vec![m.primary_pos.clone(); p.failover.len()];
            }
        }
        for ag in &mut a.agents {
            if let Some(p) = self.rollback.get(&ag.name) {
                ag.parents = p.clone();
            }
        }
        (d, a)
    }
}

/// One pass of a rollout.
///
/// `memory` is what the last pass left (`None` after a restart that lost
/// it, or for the first pass); `revision` names the desired state; `now`
/// is the caller's clock in seconds (virtual in a rehearsal). The
/// observation decides which members finished their move; steps admit
/// members in [`wanting`] order.
pub fn decide(
    rollout: &Rollout,
    memory: Option<Memory>,
    revision: &str,
    desired: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    now: u64,
) -> Decision {
    let want = wanting(desired, observed, assignment);
    let mut m = match memory {
        Some(m) if m.revision == revision => m,
        _ => Memory::fresh(revision, want.len()),
    };
    let members: FastMap<&Name, &crate::model::ObservedMember> = observed
        .gateways
        .iter()
        .chain(observed.agents.iter())
        .map(|o| (&o.name, o))
        .collect();
    let done = |s: &Started| {
        members
            .get(&s.name)
            .is_some_and(|o| o.parents == s.after && o.connected.as_ref() == Some(&s.after.primary))
    };
    let mut events = Vec::new();
    let mut verdict = Verdict::pending();
    // Each round either settles the phase or moves it forward; a rollout
    // has finitely many steps, so this ends.
    for _ in 0..=rollout.steps.len() * 3 + 3 {
        match m.phase {
            Phase::AnalysisFailed | Phase::RolledBack => break,
            Phase::RollingBack => {
                let going: FastSet<&Name> = m.rolled_back.iter().collect();
                let back = m
                    .started
                    .iter()
                    .filter(|s| going.contains(&s.name))
                    .all(|s| members.get(&s.name).is_none_or(|o| o.parents == s.before));
                if back {
                    m.phase = Phase::RolledBack;
                    events.push(Event::RolledBack { step: m.step + 1 });
                }
                break;
            }
            Phase::Complete => break,
            Phase::Moving | Phase::Soaking | Phase::Paused => {}
        }
        verdict = analyse(observed, &m.started, &rollout.analysis);
        if verdict.failed() {
            events.push(Event::AnalysisFailed {
                step: m.step + 1,
                reasons: verdict.reasons.clone(),
            });
            m.reason = Some(verdict.reasons.join("; "));
            m.failure = verdict.reasons.clone();
            match rollout.on_failure {
                OnFailure::Pause => m.phase = Phase::AnalysisFailed,
                OnFailure::Rollback => {
                    let step = m.step;
                    let failing: FastSet<&Name> = verdict.failing.iter().collect();
                    m.rolled_back = m
                        .started
                        .iter()
                        .filter(|s| s.step == step || failing.contains(&s.name))
                        .map(|s| s.name.clone())
                        .collect();
                    events.push(Event::RollbackStarted {
                        step: step + 1,
                        members: m.rolled_back.clone(),
                    });
                    m.phase = Phase::RollingBack;
                }
            }
            continue;
        }
        if m.phase == Phase::Moving && rollout.steps[m.step].target == StepTarget::Pause {
            m.phase = Phase::Paused;
            m.reason = Some(format!(
                "step {} of {} is a manual pause; run handover resume to go on",
                m.step + 1,
                rollout.steps.len()
            ));
            events.push(Event::Paused { step: m.step + 1 });
            break;
        }
        match m.phase {
            Phase::Moving => {
                let step = rollout.steps[m.step];
                let target = step
                    .cumulative(m.total)
                    .unwrap_or(m.total)
                    .max(m.started.len() as u64);
                let mut open = target.saturating_sub(m.started.len() as u64);
                if open > 0 {
                    let known: FastSet<&Name> = m.started.iter().map(|s| &s.name).collect();
                    let mut add = Vec::new();
                    for (kind, name, now_p, want_p) in &want {
                        if open == 0 {
                            break;
                        }
                        if known.contains(name) {
                            continue;
                        }
                        add.push(Started {
                            kind: *kind,
                            name: (*name).clone(),
                            before: (*now_p).clone(),
                            after: (*want_p).clone(),
                            step: m.step,
                        });
                        open -= 1;
                    }
                    if !add.is_empty() && !m.started.iter().any(|s| s.step == m.step) {
                        events.push(Event::StepStarted {
                            step: m.step + 1,
                            target,
                        });
                    }
                    m.started.extend(add);
                }
                let exhausted = m.started.len() as u64 >= target || {
                    let known: FastSet<&Name> = m.started.iter().map(|s| &s.name).collect();
                    want.iter().all(|(_, n, _, _)| known.contains(n))
                };
                let step_done = m.started.iter().filter(|s| s.step == m.step).all(done);
                if exhausted && step_done {
                    m.phase = Phase::Soaking;
                    m.soak_from = Some(now);
                    events.push(Event::SoakStarted {
                        step: m.step + 1,
                        until: now + step.soak.0,
                    });
                    continue;
                }
                break;
            }
            Phase::Soaking => {
                let soak = rollout.steps[m.step].soak.0;
                let from = *m.soak_from.get_or_insert(now);
                if now < from + soak {
                    break;
                }
                m.soak_from = None;
                m.step += 1;
                if m.step >= rollout.steps.len() {
                    m.phase = Phase::Complete;
                    events.push(Event::Complete);
                    break;
                }
                m.phase = Phase::Moving;
            }
            _ => break,
        }
    }
    let admitted: FastSet<Name> = match m.phase {
        Phase::Moving | Phase::Soaking => m.started.iter().map(|s| s.name.clone()).collect(),
        Phase::Complete => want.iter().map(|(_, n, _, _)| (*n).clone()).collect(),
        _ => FastSet::default(),
    };
    let rollback: FastMap<Name, Parents> =
        if matches!(m.phase, Phase::RollingBack | Phase::RolledBack) {
            let going: FastSet<&Name> = m.rolled_back.iter().collect();
            m.started
                .iter()
                .filter(|s| going.contains(&s.name))
                .map(|s| (s.name.clone(), s.before.clone()))
                .collect()
        } else {
            FastMap::default()
        };
    let status = Status {
        step: (m.step + 1).min(rollout.steps.len()),
        steps: rollout.steps.len(),
        phase: m.phase,
        soak_until: match m.phase {
            Phase::Soaking => m.soak_from.map(|f| f + rollout.steps[m.step].soak.0),
            _ => None,
        },
        analysis: if m.phase.degraded() && !verdict.failed() {
            Verdict {
                verdict: VerdictKind::Failed,
                reasons: m.failure.clone(),
                failing: Vec::new(),
            }
        } else {
            verdict
        },
        reason: m.reason.clone(),
    };
    Decision {
        memory: m,
        admitted,
        rollback,
        status,
        events,
    }
}
