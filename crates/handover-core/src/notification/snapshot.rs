//! The plain input of [`super::judge`]: what the reconcile loop reports
//! after a pass, as far as notifications care, with the sync status and
//! rollout phase as notifications name them.
//!
//! Owns [`Snapshot`] and [`SyncState`] (a rollout's phase is [`RolloutPhase`], the rollout's own type); plain data,
//! filled by the runtime from `/status`. Must not judge or render.

use serde::Serialize;
use std::collections::BTreeMap;

/// The sync status as notifications know it: the loop's statuses, plus
/// `AwaitingApproval` (approval gates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SyncState {
    /// Every managed member has its desired parents.
    Synced,
    /// The estate differs and the last pass could change nothing.
    OutOfSync,
    /// Changes are under way.
    Progressing,
    /// Something needs a person.
    Degraded,
    /// Applying is suspended.
    Suspended,
    /// A plan waits for `handover approve`.
    AwaitingApproval,
}

impl SyncState {
    /// Every state.
    pub const ALL: [SyncState; 6] = [
        SyncState::Synced,
        SyncState::OutOfSync,
        SyncState::Progressing,
        SyncState::Degraded,
        SyncState::Suspended,
        SyncState::AwaitingApproval,
    ];

    /// The name `/status` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Synced => "Synced",
            SyncState::OutOfSync => "OutOfSync",
            SyncState::Progressing => "Progressing",
            SyncState::Degraded => "Degraded",
            SyncState::Suspended => "Suspended",
            SyncState::AwaitingApproval => "AwaitingApproval",
        }
    }
}

/// Where a rollout stands (`/status`'s `rollout.phase`): the rollout's own
/// phase, one type for planning, `/status` and notifications.
pub use crate::plan::rollout::Phase as RolloutPhase;

/// What the loop reports after a pass, as far as notifications care: the
/// input of [`judge`]. Plain data, filled by the runtime from `/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The pass that left it (0 before the first).
    pub pass: u64,
    /// The target, as given.
    pub target: String,
    /// The desired source, as given.
    pub source: String,
    /// The command that saw it: `reconcile`, or `apply` (one run, not a
    /// loop; docs/notifications.md, "From apply").
    pub command: String,
    /// The revision in use (short form), once one loaded.
    pub revision: Option<String>,
    /// The sync status; `None` before the first observation.
    pub sync: Option<SyncState>,
    /// Why the estate is Degraded (the last error, or the rollout's
    /// reason), when it is.
    pub reason: Option<String>,
    /// Operations the last pass applied.
    pub applied: u64,
    /// Members whose parents the last plan changes.
    pub moves: u64,
    /// Members in a bridge, by name.
    pub in_flight: Vec<String>,
    /// Blocked members (and the store) with their reasons, by name.
    pub blocked: BTreeMap<String, String>,
    /// Members bridged and not acknowledged within the ack timeout.
    pub pending: u64,
    /// Members with no working parent.
    pub stranded: u64,
    /// The plan digest awaiting approval, when one does.
    pub awaiting_approval: Option<String>,
    /// The rollout's phase, when a rollout is configured.
    pub rollout: Option<RolloutPhase>,
    /// Whether a change window is open, when windows are configured.
    pub window_open: Option<bool>,
    /// When the window closes (open) or next opens (closed), RFC 3339.
    pub window_next: Option<String>,
}
