//! A pass's progressive rollout and gates laid over the `/status`
//! document after its sync status was decided.
//!
//! Owns [`rollout`] (a rollout stopped by a failed analysis makes the sync
//! status `Degraded`; one under way is not `Synced`) and [`gates`] (a pass
//! held back by a gate is `AwaitingApproval` or `OutOfSync` rather than
//! `Synced`). Must not decide anything about the rollout or the gates
//! themselves: the pass hands in their views.

use super::gates_view::GatesView;
use super::rollout_view::RolloutView;
use super::status::{Status, SyncStatus};
use crate::plan::rollout::Phase;

/// Puts a pass's gates into `s`, after its sync status was decided: a pass
/// whose changes await approval is `AwaitingApproval`, and one that a
/// closed window left with nothing to do is `OutOfSync` (the estate still
/// differs); `Degraded` and `Suspended` stay.
pub fn gates(s: &mut Status, g: Option<&GatesView>, held: u64) {
    let Some(g) = g else { return };
    s.window = g.window.clone();
    s.approval = g.approval.clone();
    let holding = matches!(
        s.sync,
        Some(SyncStatus::Synced | SyncStatus::OutOfSync | SyncStatus::Progressing)
    );
    if holding && g.approval.as_ref().is_some_and(|a| a.awaiting) {
        s.sync = Some(SyncStatus::AwaitingApproval);
    } else if s.sync == Some(SyncStatus::Synced) && held > 0 {
        s.sync = Some(SyncStatus::OutOfSync);
    }
}

/// Puts the pass's rollout into the status document. A rollout stopped by
/// a failed analysis makes it `Degraded`; one still under way (members
/// held back) is not `Synced`: `Progressing` while it moves or soaks,
/// `OutOfSync` while it waits for `handover resume`.
pub fn rollout(s: &mut Status, rollout: Option<&RolloutView>) {
    s.rollout = rollout.cloned();
    let (Some(r), Some(sync)) = (rollout, s.sync) else {
        return;
    };
    s.sync = Some(if r.degraded() {
        SyncStatus::Degraded
    } else if sync == SyncStatus::Synced && r.under_way() {
        if r.phase == Phase::Paused.as_str() {
            SyncStatus::OutOfSync
        } else {
            SyncStatus::Progressing
        }
    } else {
        sync
    });
}
