//! A rollout in a reconcile pass: its memory read from where it is kept,
//! the pass's decision, and the memory written back.
//!
//! Owns [`Gate::for_pass`] (the one call a pass makes), the seam of where
//! the memory lives ([`MemoryStore`]: the local journal, [`LocalJournal`],
//! or etcd under `--ha`, [`Shared`], which the leader's pass fills from
//! etcd and writes back fenced), [`recall`] (the pure rule: the last
//! memory of this revision, a resume after it applied), [`memory`] (that
//! rule over journal records), [`record_resume`] (`handover resume`) and
//! [`record_resume_in_etcd`] (`handover resume --ha`, through
//! [`crate::ha::shared`]).
//! Losing the memory is safe (docs/rollouts.md, "Level-triggered"). Must
//! not plan (the pass plans through [`crate::plan::admit::hold`] with
//! [`Gate::admits`]) and must not touch the target; a pass's memory in
//! etcd is read and written by `crate::run::lead`, fenced.

use super::admission;
use crate::assign::{self, Assignment};
use crate::model::{Observed, Rollout, Topology};
use crate::plan::admit::Subject;
use crate::plan::rollout::{Decision, Event, Memory, Status};
use crate::state::journal::{self, Journal, Record};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a pass starts from: the memory for its revision, and whether a
/// resume recorded after the memory was applied to it (the pass then
/// writes the memory even when it did not change, which uses the resume
/// up: a resume applies once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recalled {
    /// The memory; `None` starts afresh.
    pub memory: Option<Memory>,
    /// A resume was applied to it.
    pub resumed: bool,
}

/// The memory for `revision` from the `last` one kept and whether a
/// resume was recorded after it: none (start afresh) without one, or
/// when it belongs to another revision; a resume applied
/// ([`Memory::resume`]). Pure.
pub fn recall(last: Option<&Memory>, resumed: bool, rollout: &Rollout, revision: &str) -> Recalled {
    match last {
        Some(m) if m.revision == revision && resumed => Recalled {
            memory: m.clone().resume(rollout).0,
            resumed: true,
        },
        Some(m) if m.revision == revision => Recalled {
            memory: Some(m.clone()),
            resumed: false,
        },
        _ => Recalled::default(),
    }
}

/// [`recall`] over the journal's `records`: the last rollout state
/// written, and whether a resume was recorded after it.
pub fn recall_records(records: &[Record], rollout: &Rollout, revision: &str) -> Recalled {
    let Some((i, m)) = records.iter().enumerate().rev().find_map(|(i, r)| match r {
        Record::RolloutState { state, .. } => Some((i, state)),
        _ => None,
    }) else {
        return Recalled::default();
    };
    let resumed = records[i + 1..]
        .iter()
        .any(|r| matches!(r, Record::RolloutResumed { .. }));
    recall(Some(m), resumed, rollout, revision)
}

/// The memory the journal's `records` hold for `revision`: the last
/// rollout state written, when it is this revision's, with a resume
/// recorded after it applied. `None` (start afresh) when there is none,
/// or when the last one belongs to another revision.
pub fn memory(records: &[Record], rollout: &Rollout, revision: &str) -> Option<Memory> {
    recall_records(records, rollout, revision).memory
}

/// Records `handover resume` in the journal of `state_dir`.
pub fn record_resume(state_dir: &Path, user: String) -> std::io::Result<()> {
    Journal::open(state_dir)?.append(&Record::RolloutResumed {
        at: journal::now_rfc3339(),
        user,
    })
}

/// Records `handover resume --ha` in etcd at `url`, for the management
/// group `group`, with the OS user and the time; returns the user. The
/// leader's next pass applies it to the memory in etcd.
pub fn record_resume_in_etcd(
    url: &str,
    security: &crate::ha::secure::Security,
    group: &str,
) -> Result<String, String> {
    let url = crate::ha::url::parse(url).map_err(|e| format!("error: --ha: {e}"))?;
    let keys = crate::ha::Keys::new(&url.prefix, group);
    let user = crate::run::origin::os_user();
    let u = user.clone();
    let shown = url.to_string();
    crate::ha::node::with_client(&url, security, |mut c| async move {
        crate::ha::shared::resume(&mut c, &keys, &u)
            .await
            .map_err(|e| format!("cannot record the resume in etcd at {shown}: {e}"))
    })
    .map_err(|e| format!("error: {e}. Nothing was recorded."))?;
    Ok(user)
}

/// Seconds since the Unix epoch: the clock a reconcile pass's soaks run on
/// (shared by every replica under `--ha`, so a soak begun by one leader
/// ends at the same instant for the next).
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Where a rollout's memory is kept between passes.
pub trait MemoryStore {
    /// The memory for `revision` (a resume applied), or none to start
    /// afresh.
    fn load(&self, rollout: &Rollout, revision: &str) -> Recalled;
    /// Keeps `memory`, which this pass changed, with the pass's
    /// transitions. Failures are logged: the next pass goes on from the
    /// observation.
    fn save(&self, memory: &Memory, events: &[Event]);
}

/// The local journal in a state directory: a run without `--ha`.
#[derive(Clone, Copy, Debug)]
pub struct LocalJournal<'a>(pub &'a Path);

impl MemoryStore for LocalJournal<'_> {
    fn load(&self, rollout: &Rollout, revision: &str) -> Recalled {
        let records = journal::read(self.0).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the journal; the rollout starts again from the observation");
            Vec::new()
        });
        recall_records(&records, rollout, revision)
    }

    fn save(&self, memory: &Memory, events: &[Event]) {
        let written = Journal::open(self.0).and_then(|mut j| {
            j.append(&Record::RolloutState {
                at: journal::now_rfc3339(),
                state: Box::new(memory.clone()),
                events: events.to_vec(),
            })
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write the rollout's state to the journal");
        }
    }
}

/// The memory kept in etcd under `--ha`, as read at the start of the
/// pass (`last`, and whether a resume came after it). A leader's pass
/// gives the local journal as `history`: a changed memory is appended
/// there too (history only; never read back under `--ha`) and held for
/// the leader to write to etcd, fenced ([`Shared::take_changed`]). A
/// standby's pass gives no history and writes nothing.
#[derive(Debug)]
pub struct Shared<'a> {
    last: Option<Memory>,
    resumed: bool,
    history: Option<&'a Path>,
    changed: Mutex<Option<(Memory, Vec<Event>)>>,
}

impl<'a> Shared<'a> {
    /// The leader's store: the memory read from etcd, changes recorded in
    /// the local journal in `history` and held for etcd.
    pub fn leader(last: Option<Memory>, resumed: bool, history: &'a Path) -> Self {
        Shared {
            last,
            resumed,
            history: Some(history),
            changed: Mutex::new(None),
        }
    }

    /// A standby's store: reads the leader's memory, keeps nothing.
    pub fn standby(last: Option<Memory>, resumed: bool) -> Self {
        Shared {
            last,
            resumed,
            history: None,
            changed: Mutex::new(None),
        }
    }

    /// The memory the pass changed, with its transitions, for the leader
    /// to write to etcd; `None` when it did not change (nothing to write).
    pub fn take_changed(&self) -> Option<(Memory, Vec<Event>)> {
        self.changed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl MemoryStore for Shared<'_> {
    fn load(&self, rollout: &Rollout, revision: &str) -> Recalled {
        recall(self.last.as_ref(), self.resumed, rollout, revision)
    }

    fn save(&self, memory: &Memory, events: &[Event]) {
        let Some(dir) = self.history else {
            return;
        };
        LocalJournal(dir).save(memory, events);
        *self.changed.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((memory.clone(), events.to_vec()));
    }
}

/// A pass's rollout decision, ready to plan with.
#[derive(Debug)]
pub struct Gate {
    decision: Decision,
    /// The desired state with any rollback written in.
    pub desired: Topology,
    /// The assignment with any rollback written in.
    pub assignment: Assignment,
}

impl Gate {
    /// The rollout's decision for this pass, or `None` when the topology
    /// has no `policy.rollout` (plan as before). Loads the memory from
    /// `store` and saves it back when the pass changed it, or applied a
    /// resume (so the resume applies once).
    pub fn for_pass(
        store: &dyn MemoryStore,
        desired: &Topology,
        observed: &Observed,
        revision: &str,
        now: SystemTime,
    ) -> Option<Gate> {
        let rollout = desired.policy.rollout.as_ref()?;
        let (assignment, _) = assign::resolve_lenient(desired, observed).ok()?;
        let before = store.load(rollout, revision);
        let (decision, d, a) = admission(
            desired,
            observed,
            &assignment,
            before.memory.clone(),
            revision,
            unix_seconds(now),
        )?;
        for e in &decision.events {
            tracing::info!(event = ?e, "rollout");
        }
        if before.resumed || before.memory.as_ref() != Some(&decision.memory) {
            store.save(&decision.memory, &decision.events);
        }
        Some(Gate {
            decision,
            desired: d,
            assignment: a,
        })
    }

    /// The admit predicate for [`crate::plan::admit::hold`].
    pub fn admits(&self, s: Subject<'_>) -> bool {
        self.decision.admits(s)
    }

    /// What `/status`, the page and `/metrics` show.
    pub fn status(&self) -> &Status {
        &self.decision.status
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

    fn resumed_record() -> Record {
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
        let records = [state("a", Phase::Paused, 1), resumed_record()];
        let m = memory(&records, &r, "a").unwrap();
        assert_eq!((m.phase, m.step), (Phase::Moving, 2));
        let records = [resumed_record(), state("a", Phase::Paused, 1)];
        assert_eq!(memory(&records, &r, "a").unwrap().phase, Phase::Paused);
        // After a failed analysis a resume starts afresh.
        let records = [state("a", Phase::AnalysisFailed, 0), resumed_record()];
        assert_eq!(memory(&records, &r, "a"), None);
    }

    fn paused(revision: &str) -> Memory {
        match state(revision, Phase::Paused, 1) {
            Record::RolloutState { state, .. } => *state,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_etcd_memory_follows_the_same_rule_as_the_journal() {
        let r = rollout();
        let m = paused("a");
        // The same memory, read from etcd or from the journal, recalls the
        // same, with or without a resume after it.
        for resumed in [false, true] {
            let mut records = vec![Record::RolloutState {
                at: "t".into(),
                state: Box::new(m.clone()),
                events: Vec::new(),
            }];
            if resumed {
                records.push(resumed_record());
            }
            let from_etcd = Shared::standby(Some(m.clone()), resumed).load(&r, "a");
            assert_eq!(from_etcd, recall_records(&records, &r, "a"));
            assert_eq!(from_etcd.resumed, resumed);
        }
        assert_eq!(
            Shared::standby(Some(m), true).load(&r, "b"),
            Recalled::default()
        );
        assert_eq!(
            Shared::standby(None, true).load(&r, "a"),
            Recalled::default()
        );
    }

    #[test]
    fn a_leader_keeps_a_changed_memory_for_etcd_and_its_journal_a_standby_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let m = paused("a");
        let standby = Shared::standby(None, false);
        standby.save(&m, &[]);
        assert_eq!(standby.take_changed(), None);
        assert!(journal::read(dir.path()).unwrap().is_empty());

        let leader = Shared::leader(None, false, dir.path());
        assert_eq!(leader.take_changed(), None, "nothing changed yet");
        leader.save(&m, &[Event::Paused { step: 2 }]);
        let (kept, events) = leader.take_changed().unwrap();
        assert_eq!((kept, events.len()), (m.clone(), 1));
        assert_eq!(leader.take_changed(), None, "taken once");
        // The local journal has it as history.
        let records = journal::read(dir.path()).unwrap();
        assert_eq!(memory(&records, &rollout(), "a"), Some(m));
    }
}
