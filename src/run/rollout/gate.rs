//! A rollout in a reconcile pass: its memory read from the journal, the
//! pass's decision, and the memory written back.
//!
//! Owns [`Gate::for_pass`] (the one call a pass makes), [`memory`] (the
//! pure fold of journal records into the memory for a revision, resumes
//! applied) and [`record_resume`] (`handover resume`). The journal is the
//! memory's only home: losing it is safe (docs/rollouts.md, "Level-
//! triggered"). Must not plan (the pass plans through
//! [`crate::plan::admit::hold`] with [`Gate::admits`]) and must not touch
//! the target.

use super::admission;
use crate::assign::{self, Assignment};
use crate::model::{Observed, Rollout, Topology};
use crate::plan::admit::Subject;
use crate::plan::rollout::{Decision, Memory, Status};
use crate::state::journal::{self, Journal, Record};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The memory the journal's `records` hold for `revision`: the last
/// rollout state written, when it is this revision's, with a resume
/// recorded after it applied. `None` (start afresh) when there is none,
/// or when the last one belongs to another revision.
pub fn memory(records: &[Record], rollout: &Rollout, revision: &str) -> Option<Memory> {
    let (i, m) = records
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, r)| match r {
            Record::RolloutState { state, .. } => Some((i, state)),
            _ => None,
        })?;
    if m.revision != revision {
        return None;
    }
    let resumed = records[i + 1..]
        .iter()
        .any(|r| matches!(r, Record::RolloutResumed { .. }));
    let m = (**m).clone();
    if resumed {
        m.resume(rollout).0
    } else {
        Some(m)
    }
}

/// Records `handover resume` in the journal of `state_dir`.
pub fn record_resume(state_dir: &Path, user: String) -> std::io::Result<()> {
    Journal::open(state_dir)?.append(&Record::RolloutResumed {
        at: journal::now_rfc3339(),
        user,
    })
}

/// Seconds since the Unix epoch: the clock a reconcile pass's soaks run on.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A pass's rollout decision, ready to plan with.
#[derive(Debug)]
pub struct Gate {
    /// `None` under `--ha`, where a rollout starts nothing (see
    /// [`Gate::for_pass`]).
    decision: Option<Decision>,
    status: Status,
    /// The desired state with any rollback written in.
    pub desired: Topology,
    /// The assignment with any rollback written in.
    pub assignment: Assignment,
}

impl Gate {
    /// The rollout's decision for this pass, or `None` when the topology
    /// has no `policy.rollout` (plan as before). Reads the memory from the
    /// journal in `state_dir` and writes it back when the pass changed it;
    /// a journal that cannot be read or written is logged and the pass
    /// goes on from the observation (safe: see docs/rollouts.md).
    ///
    /// Under `--ha` (`ha`) the rollout's memory would have to live in etcd,
    /// which it does not yet: the pass then starts no new change at all
    /// and says why, rather than moving every member at once.
    pub fn for_pass(
        state_dir: &Path,
        desired: &Topology,
        observed: &Observed,
        revision: &str,
        ha: bool,
        now: SystemTime,
    ) -> Option<Gate> {
        let rollout = desired.policy.rollout.as_ref()?;
        let (assignment, _) = assign::resolve_lenient(desired, observed).ok()?;
        if ha {
            tracing::warn!("policy.rollout is not run under --ha yet; no new change starts");
            return Some(Gate {
                decision: None,
                status: Status {
                    step: 1,
                    steps: rollout.steps.len(),
                    phase: crate::plan::rollout::Phase::Paused,
                    soak_until: None,
                    analysis: crate::plan::rollout::Verdict::pending(),
                    reason: Some("policy.rollout is not run under --ha yet: no new change starts; run without --ha, or remove policy.rollout".into()),
                },
                desired: desired.clone(),
                assignment,
            });
        }
        let records = journal::read(state_dir).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the journal; the rollout starts again from the observation");
            Vec::new()
        });
        let before = memory(&records, rollout, revision);
        let (decision, d, a) = admission(
            desired,
            observed,
            &assignment,
            before.clone(),
            revision,
            unix_seconds(now),
        )?;
        for e in &decision.events {
            tracing::info!(event = ?e, "rollout");
        }
        if before.as_ref() != Some(&decision.memory) {
            let written = Journal::open(state_dir).and_then(|mut j| {
                j.append(&Record::RolloutState {
                    at: journal::now_rfc3339(),
                    state: Box::new(decision.memory.clone()),
                    events: decision.events.clone(),
                })
            });
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot write the rollout's state to the journal");
            }
        }
        Some(Gate {
            status: decision.status.clone(),
            decision: Some(decision),
            desired: d,
            assignment: a,
        })
    }

    /// The admit predicate for [`crate::plan::admit::hold`].
    pub fn admits(&self, s: Subject<'_>) -> bool {
        self.decision.as_ref().is_some_and(|d| d.admits(s))
    }

    /// What `/status`, the page and `/metrics` show.
    pub fn status(&self) -> &Status {
        &self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Analysis, OnFailure, Seconds, Step, StepTarget};
    use crate::plan::rollout::Phase;

    fn rollout() -> Rollout {
        Rollout {
            steps: vec![
                Step {
                    target: StepTarget::Members(1),
                    soak: Seconds(0),
                },
                Step {
                    target: StepTarget::Pause,
                    soak: Seconds(0),
                },
                Step {
                    target: StepTarget::Percent(100),
                    soak: Seconds(0),
                },
            ],
            analysis: Analysis::default(),
            on_failure: OnFailure::Pause,
        }
    }

    fn state(revision: &str, phase: Phase, step: usize) -> Record {
        Record::RolloutState {
            at: "t".into(),
            state: Box::new(Memory {
                revision: revision.into(),
                total: 3,
                step,
                phase,
                soak_from: None,
                started: Vec::new(),
                rolled_back: Vec::new(),
                reason: None,
                failure: Vec::new(),
            }),
            events: Vec::new(),
        }
    }

    fn resumed() -> Record {
        Record::RolloutResumed {
            at: "t".into(),
            user: String::new(),
        }
    }

    #[test]
    fn the_last_state_of_the_revision_is_the_memory() {
        let r = rollout();
        assert_eq!(memory(&[], &r, "a"), None);
        let records = [state("a", Phase::Moving, 0), state("a", Phase::Paused, 1)];
        assert_eq!(memory(&records, &r, "a").unwrap().phase, Phase::Paused);
        // Another revision's state, or a newer one of another revision,
        // starts afresh.
        assert_eq!(memory(&records, &r, "b"), None);
        let records = [state("a", Phase::Paused, 1), state("b", Phase::Moving, 0)];
        assert_eq!(memory(&records, &r, "a"), None);
    }

    #[test]
    fn a_resume_after_the_last_state_applies_and_one_before_it_does_not() {
        let r = rollout();
        let records = [state("a", Phase::Paused, 1), resumed()];
        let m = memory(&records, &r, "a").unwrap();
        assert_eq!((m.phase, m.step), (Phase::Moving, 2));
        let records = [resumed(), state("a", Phase::Paused, 1)];
        assert_eq!(memory(&records, &r, "a").unwrap().phase, Phase::Paused);
        // After a failed analysis a resume starts afresh.
        let records = [state("a", Phase::AnalysisFailed, 0), resumed()];
        assert_eq!(memory(&records, &r, "a"), None);
    }
}
