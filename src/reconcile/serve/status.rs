//! What the reconcile loop reports: the revision in use, the sync status,
//! members in flight and blocked, the last error (`/status`).
//!
//! Owns the [`Status`] document, the handle the loop writes it through and
//! the listener reads it from (the listener shows it through the live
//! state of the pass in progress, `live::Live::status`), and
//! [`decide`], the pure rule that turns a pass's facts into a
//! [`SyncStatus`]. Must not observe, plan or apply.

use crate::execute::{EngineReport, StepOutcome};
use crate::name::Name;
use crate::plan::{Blocked, BlockedKind, Summary};
use crate::reconcile::schedule::Trigger;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// Where the estate stands against the desired topology, as Argo CD and
/// Flux users know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SyncStatus {
    /// Every managed member has its desired parents; nothing in flight,
    /// nothing blocked.
    Synced,
    /// The estate differs from the desired topology and the last pass
    /// could change nothing (every difference is blocked, say).
    OutOfSync,
    /// Changes are under way: the last pass changed something, or members
    /// are in a bridge waiting for their new primary.
    Progressing,
    /// Something needs a person: a member stranded, a step failed, the last
    /// pass failed, or the newest revision was refused as invalid.
    Degraded,
    /// Suspended (`--suspend-file` exists, or `policy.suspend`): the loop
    /// observes and reports but applies nothing.
    Suspended,
    /// The plan moves more members than `policy.approval` allows without
    /// approval: the loop observes and reports, finishes changes already
    /// started, and starts nothing new until `handover approve DIGEST`.
    AwaitingApproval,
}

impl SyncStatus {
    /// Every status, in a fixed order (for the metrics' one-hot gauge).
    pub const ALL: [SyncStatus; 6] = [
        SyncStatus::Synced,
        SyncStatus::OutOfSync,
        SyncStatus::Progressing,
        SyncStatus::Degraded,
        SyncStatus::Suspended,
        SyncStatus::AwaitingApproval,
    ];

    /// The name shown in `/status` and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Synced => "Synced",
            SyncStatus::OutOfSync => "OutOfSync",
            SyncStatus::Progressing => "Progressing",
            SyncStatus::Degraded => "Degraded",
            SyncStatus::Suspended => "Suspended",
            SyncStatus::AwaitingApproval => "AwaitingApproval",
        }
    }
}

/// What one pass found and did: the input of [`decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassFacts {
    /// Steps in the plan made from the pass's observation.
    pub changes: u64,
    /// Members (and the store) whose change is blocked.
    pub blocked: u64,
    /// Steps that changed something or found their effect in place
    /// (applied, satisfied awaits, skipped).
    pub progressed: u64,
    /// Members left in a bridge (pending, or interrupted).
    pub in_bridge: u64,
    /// Members whose chain stopped on a provider error.
    pub failed: u64,
    /// Members with no working parent (from the target, when it knows).
    pub stranded: u64,
    /// Applying is suspended.
    pub suspended: bool,
    /// The pass failed, or the newest revision was refused.
    pub error: bool,
    /// The pass applied its plan and a final observation found the estate
    /// equal to the desired topology (the apply outcome `converged`).
    pub converged: bool,
    /// The pass finished every step of its plan (applied, satisfied or
    /// skipped) and left nothing in a bridge: what still differs is what
    /// its plan could not start (blocked).
    pub complete: bool,
}

impl PassFacts {
    /// Facts from a pass's plan summary and, when it applied, its report.
    pub fn from_pass(
        plan: &Summary,
        report: Option<&EngineReport>,
        stranded: u64,
        suspended: bool,
        error: bool,
    ) -> PassFacts {
        let (progressed, in_bridge, failed) = report.map_or((0, 0, 0), |r| {
            (
                r.steps_applied + r.awaits_satisfied + r.skipped,
                r.in_bridge.len() as u64,
                r.failed.len() as u64,
            )
        });
        let complete = report.is_some_and(|r| {
            !r.cancelled
                && r.in_bridge.is_empty()
                && r.steps.iter().all(|s| {
                    matches!(
                        s.outcome,
                        StepOutcome::Applied | StepOutcome::Satisfied | StepOutcome::Skipped
                    )
                })
        });
        PassFacts {
            changes: plan.changes,
            blocked: plan.blocked,
            progressed,
            in_bridge,
            failed,
            stranded,
            suspended,
            error,
            converged: false,
            complete,
        }
    }
}

/// The sync status a pass's facts mean. In order: anything needing a
/// person is `Degraded` (even while suspended: a stranded member must not
/// hide behind a suspension); then `Suspended`; a pass that converged is
/// `Synced` at once; members in a bridge are `Progressing`; a pass that
/// did all it could while members stay blocked is `OutOfSync` at once;
/// steps that progressed are `Progressing`; remaining differences are
/// `OutOfSync`; otherwise `Synced`.
pub fn decide(f: &PassFacts) -> SyncStatus {
    if f.stranded > 0 || f.failed > 0 || f.error {
        SyncStatus::Degraded
    } else if f.suspended {
        SyncStatus::Suspended
    } else if f.converged {
        SyncStatus::Synced
    } else if f.in_bridge == 0 && f.complete && f.blocked > 0 {
        SyncStatus::OutOfSync
    } else if f.in_bridge > 0 || (f.changes > 0 && f.progressed > 0) {
        SyncStatus::Progressing
    } else if f.changes > 0 || f.blocked > 0 {
        SyncStatus::OutOfSync
    } else {
        SyncStatus::Synced
    }
}

/// The kinds of error the loop counts and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The source could not be read (git fetch failed, a file is missing).
    Source,
    /// The newest revision failed validation and was refused.
    Invalid,
    /// The target could not be observed.
    Observe,
    /// A step failed at the target.
    Apply,
    /// The journal could not be written.
    Journal,
}

impl ErrorKind {
    /// Every kind (so metrics show zeros rather than nothing).
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Source,
        ErrorKind::Invalid,
        ErrorKind::Observe,
        ErrorKind::Apply,
        ErrorKind::Journal,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Source => "source",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Observe => "observe",
            ErrorKind::Apply => "apply",
            ErrorKind::Journal => "journal",
        }
    }
}

/// The revision in use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevisionView {
    /// The commit, or `digest:…` for a path.
    pub id: String,
    /// What logs show.
    pub short: String,
    /// When it was adopted, RFC 3339.
    pub since: String,
}

/// A refused revision, with every problem found in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedView {
    /// The refused revision.
    pub revision: String,
    /// One line per problem, `file:line:column: message (hint)`.
    pub errors: Vec<String>,
}

/// The last pass.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PassView {
    /// What started it.
    pub trigger: Trigger,
    /// When it started, RFC 3339.
    pub started: String,
    /// How long it took, in seconds.
    pub duration_seconds: f64,
    /// Operations it performed.
    pub applied: u64,
}

/// A member in a bridge, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InFlight {
    /// The member.
    pub name: Name,
    /// When its bridge was written (or when the loop first saw it), RFC 3339.
    pub since: String,
}

/// A member (or the store) whose change cannot start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockedView {
    /// `gateway`, `agent` or `store`.
    pub kind: BlockedKind,
    /// The member, or the store's desired pool.
    pub name: Name,
    /// Why, in words an administrator can act on.
    pub reason: String,
}

impl From<&Blocked> for BlockedView {
    fn from(b: &Blocked) -> Self {
        BlockedView {
            kind: b.kind,
            name: b.name.clone(),
            reason: b.reason.to_string(),
        }
    }
}

/// The last error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// Which kind.
    pub kind: ErrorKind,
    /// What happened, and what to do when known.
    pub message: String,
    /// When, RFC 3339.
    pub at: String,
}

/// How many members are in each state after the last pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemberCounts {
    /// In a bridge (old and new parents configured).
    pub bridged: u64,
    /// Bridged and not yet acknowledged within the ack timeout.
    pub pending: u64,
    /// Whose change cannot start.
    pub blocked: u64,
    /// With no working parent.
    pub stranded: u64,
}

/// How many finished passes [`Status::history`] keeps.
pub const HISTORY_CAP: usize = 20;

/// One finished pass, as the history lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PassSummary {
    /// The pass number, from 1.
    pub pass: u64,
    /// What started it.
    pub trigger: Trigger,
    /// When it started, RFC 3339.
    pub started: String,
    /// How long it took, in seconds.
    pub duration_seconds: f64,
    /// The revision it reconciled (short form), if one was loaded.
    pub revision: Option<String>,
    /// The sync status it left.
    pub sync: Option<SyncStatus>,
    /// Steps in its plan.
    pub changes: u64,
    /// Members whose parents its plan changes.
    pub moves: u64,
    /// Operations it applied.
    pub applied: u64,
    /// Members blocked.
    pub blocked: u64,
    /// Its error, if it failed.
    pub error: Option<String>,
}

/// The pass running now: what `handover wait` and the page show as
/// progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CurrentPass {
    /// Its number, from 1 (one more than [`Status::passes`]).
    pub pass: u64,
    /// `planning` (observing and planning) or `applying`.
    pub phase: &'static str,
    /// Members whose parents its plan changes; `null` until it planned.
    pub moves: Option<u64>,
    /// Of them, members done: pruned, or changed without a bridge.
    pub done: u64,
    /// Bridges written so far.
    pub bridged: u64,
    /// Members seen on their new primary so far.
    pub acknowledged: u64,
    /// Members whose acknowledgement timed out (they stay in their bridge).
    pub pending: u64,
    /// Members whose change stopped on a provider error.
    pub failed: u64,
}

/// The `/status` document.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Status {
    /// The desired source, as given (`PATH`, or `REPO@REF[:PATH]`).
    pub source: String,
    /// The target, as given.
    pub target: String,
    /// The revision in use (the last good one); `null` before one loads.
    pub revision: Option<RevisionView>,
    /// The newest revision, when it was refused; the loop keeps `revision`.
    pub refused: Option<RefusedView>,
    /// `null` until the first observation.
    pub sync: Option<SyncStatus>,
    /// The revision `sync` was decided at (its id): the one a plan was
    /// last made from. It differs from `revision.id` while a newly adopted
    /// revision has not been planned yet.
    pub sync_revision: Option<String>,
    /// True once the first observation is done (`/readyz`).
    pub ready: bool,
    /// True while applying is suspended.
    pub suspended: bool,
    /// Passes finished since start.
    pub passes: u64,
    /// The pass running now, `null` between passes.
    pub current: Option<CurrentPass>,
    /// The last pass.
    pub last_pass: Option<PassView>,
    /// Members in a bridge and since when, sorted by name.
    pub in_flight: Vec<InFlight>,
    /// Blocked members with their reasons.
    pub blocked: Vec<BlockedView>,
    /// Counts by state.
    pub members: MemberCounts,
    /// The last error, until a pass succeeds.
    pub last_error: Option<ErrorView>,
    /// The last [`HISTORY_CAP`] passes, newest first.
    pub history: Vec<PassSummary>,
    /// With `--ha`: this replica's role, the leader, and on a standby the
    /// leader's last published status. Absent without `--ha`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<crate::ha::HaView>,
    /// With `policy.rollout`: its step, phase, soak and analysis
    /// (docs/rollouts.md). Absent without a rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<super::rollout_view::RolloutView>,
    /// The change window (docs/gates.md); `null` without `policy.windows`.
    pub window: Option<super::gates_view::WindowView>,
    /// The approval gate (docs/gates.md); `null` without
    /// `policy.approval` or while the plan is within it.
    pub approval: Option<super::gates_view::ApprovalView>,
}

/// The shared status: the loop writes, the listener reads. Clones share.
#[derive(Clone, Debug, Default)]
pub struct StatusHandle(Arc<RwLock<Status>>);

impl StatusHandle {
    /// A handle on `initial`.
    pub fn new(initial: Status) -> Self {
        StatusHandle(Arc::new(RwLock::new(initial)))
    }

    /// Changes the status under the lock (keep `f` short: no I/O, no await).
    pub fn update<R>(&self, f: impl FnOnce(&mut Status) -> R) -> R {
        let mut g = self.0.write().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> Status {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PassFacts {
        PassFacts::default()
    }

    #[test]
    fn nothing_to_do_is_synced() {
        assert_eq!(decide(&facts()), SyncStatus::Synced);
    }

    #[test]
    fn changes_made_or_members_in_a_bridge_are_progressing() {
        let f = PassFacts {
            changes: 4,
            progressed: 2,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::Progressing);
        let f = PassFacts {
            in_bridge: 1,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::Progressing);
    }

    #[test]
    fn a_pass_that_converged_is_synced_at_once() {
        // It changed something (today's rule alone says Progressing), and
        // its final observation found the estate converged.
        let f = PassFacts {
            changes: 6,
            progressed: 6,
            converged: true,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::Synced);
        let f = PassFacts {
            stranded: 1,
            converged: true,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::Degraded);
    }

    #[test]
    fn a_pass_that_did_all_it_could_with_members_blocked_is_out_of_sync_at_once() {
        let plan = Summary {
            changes: 6,
            moves: 2,
            blocked: 1,
            ..Summary::default()
        };
        let step = |outcome| crate::execute::StepRecord {
            id: 1,
            action: "set_parents",
            name: Name::parse("web01.contoso.local").unwrap(),
            outcome,
            started: None,
            finished: None,
            attempts: 1,
        };
        let report = EngineReport {
            steps: vec![step(StepOutcome::Applied), step(StepOutcome::Satisfied)],
            steps_applied: 1,
            awaits_satisfied: 1,
            ..EngineReport::default()
        };
        let f = PassFacts::from_pass(&plan, Some(&report), 0, false, false);
        assert!(f.complete);
        assert_eq!(decide(&f), SyncStatus::OutOfSync);
        // A step that timed out leaves the member pending: still going.
        let report = EngineReport {
            steps: vec![step(StepOutcome::Applied), step(StepOutcome::TimedOut)],
            in_bridge: vec![Name::parse("web01.contoso.local").unwrap()],
            steps_applied: 1,
            ..EngineReport::default()
        };
        let f = PassFacts::from_pass(&plan, Some(&report), 0, false, false);
        assert!(!f.complete);
        assert_eq!(decide(&f), SyncStatus::Progressing);
    }

    #[test]
    fn differences_nothing_could_change_are_out_of_sync() {
        let f = PassFacts {
            blocked: 1,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::OutOfSync);
        let f = PassFacts {
            changes: 3,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::OutOfSync);
    }

    #[test]
    fn suspension_wins_over_progress_but_not_over_degradation() {
        let f = PassFacts {
            changes: 3,
            in_bridge: 2,
            suspended: true,
            ..facts()
        };
        assert_eq!(decide(&f), SyncStatus::Suspended);
        for f in [
            PassFacts {
                stranded: 1,
                suspended: true,
                ..facts()
            },
            PassFacts {
                failed: 1,
                ..facts()
            },
            PassFacts {
                error: true,
                ..facts()
            },
        ] {
            assert_eq!(decide(&f), SyncStatus::Degraded, "{f:?}");
        }
    }

    #[test]
    fn facts_come_from_the_plan_and_the_report() {
        let plan = Summary {
            changes: 6,
            moves: 2,
            blocked: 1,
            ..Summary::default()
        };
        let report = EngineReport {
            steps_applied: 2,
            awaits_satisfied: 1,
            skipped: 1,
            in_bridge: vec![Name::parse("web01.contoso.local").unwrap()],
            ..EngineReport::default()
        };
        let f = PassFacts::from_pass(&plan, Some(&report), 0, false, false);
        assert_eq!(
            f,
            PassFacts {
                changes: 6,
                blocked: 1,
                progressed: 4,
                in_bridge: 1,
                failed: 0,
                stranded: 0,
                suspended: false,
                error: false,
                converged: false,
                complete: false,
            }
        );
        assert_eq!(decide(&f), SyncStatus::Progressing);
        let suspended = PassFacts::from_pass(&plan, None, 0, true, false);
        assert_eq!(decide(&suspended), SyncStatus::Suspended);
    }

    #[test]
    fn the_handle_is_shared_and_serialises_status_names() {
        let h = StatusHandle::default();
        let h2 = h.clone();
        h.update(|s| {
            s.sync = Some(SyncStatus::OutOfSync);
            s.ready = true;
        });
        let snap = h2.snapshot();
        assert!(snap.ready);
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["sync"], "OutOfSync");
        assert_eq!(json["revision"], serde_json::Value::Null);
    }
}
