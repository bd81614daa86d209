//! One member's change: converged, blocked, one step, or a bridge.
//!
//! Owns the decision for a single agent or gateway, given its observed
//! state and desired parents (docs/spec.md rules 1, 2, 3 and 6). Knows nothing of
//! step ids or of other members; ordering is `build`'s job.

use super::bridge::{bridge, drops_a_talking_parent};
use super::ready::Servers;
use super::types::BlockReason;
use crate::model::{ObservedMember, Parents};
use crate::name::Name;

/// What one member needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Its configured parents are exactly the desired ones.
    Converged,
    /// Its change cannot start.
    Blocked(BlockReason),
    /// Its change, as steps.
    Move(Move),
}

/// The steps of one member's change, before ids are given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Move {
    /// The bridge to write first; `None` when no bridge is needed or the
    /// member is already in it (found in flight).
    pub bridge: Option<Parents>,
    /// Wait until connected to the desired primary before the last step.
    pub await_primary: bool,
    /// The exact desired parents, written last.
    pub target: Parents,
    /// Parents the change moves the member onto (new ones, and the
    /// primary when it changes or is awaited): each must be ready, and a
    /// gateway among them must finish its own change first.
    pub onto: Vec<Name>,
}

/// Decides one member's change.
pub(crate) fn change(
    observed: Option<&ObservedMember>,
    desired: &Parents,
    servers: &Servers<'_>,
) -> Change {
    let Some(obs) = observed else {
        return Change::Blocked(BlockReason::NotObserved);
    };
    if obs.parents == *desired {
        return Change::Converged;
    }
    let await_primary = drops_a_talking_parent(obs, desired);
    let mut onto: Vec<Name> = Vec::new();
    if await_primary || obs.parents.primary != desired.primary {
        onto.push(desired.primary.clone());
    }
    for s in desired.iter() {
        if !obs.parents.lists(s) && !onto.contains(s) {
            onto.push(s.clone());
        }
    }
    for s in &onto {
        if let Err(reason) = servers.check(s) {
            return Change::Blocked(reason);
        }
    }
    let bridge = if await_primary {
        Some(bridge(&obs.parents, desired)).filter(|b| *b != obs.parents)
    } else {
        None
    };
    Change::Move(Move {
        bridge,
        await_primary,
        target: desired.clone(),
        onto,
    })
}
