//! Admission: which members may *start* a change in this pass.
//!
//! Owns [`Subject`], [`Held`] and [`hold`], the one seam through which
//! progressive rollouts, change windows, approval gates and a paused
//! rollout narrow what a pass starts (docs/rollouts.md). A member that is
//! not admitted keeps its configured parents in the desired state the
//! planner sees, so the planner itself, with every safety rule of
//! docs/spec.md section 3, decides what follows from that (a gateway held
//! back keeps the agents that would move onto it blocked on it). A member
//! whose change has already *started* (its configured primary is already
//! its desired one: a bridge waiting for acknowledgement, or failovers
//! left to prune) is always admitted, so closing a window or pausing a
//! rollout never leaves anyone half-moved for longer than the change needs.
//!
//! Pure: no I/O, no clock. Must not decide *why* a member is held back
//! (that is the caller's policy) and must not touch the plan's order.

use crate::assign::Assignment;
use crate::hash::FastMap;
use crate::model::{MemberKind, Observed, Parents, Topology};
use crate::name::Name;
use std::borrow::Cow;

/// What may be admitted or held: a member, or the Central Management Store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    /// An agent or gateway, by name.
    Member(MemberKind, &'a Name),
    /// The Central Management Store's failover.
    Store,
}

/// A member (or the store) that wants to start a change and was held back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// Agent or gateway; `None` for the store.
    pub kind: Option<MemberKind>,
    /// The member, or the pool the store would move to.
    pub name: Name,
    /// Where it is now (members only).
    pub from: Option<Parents>,
    /// Where the desired state wants it.
    pub to: Option<Parents>,
}

/// A change that has not started yet: the configured parents are neither
/// the desired ones nor a bridge towards them (the desired primary and
/// failovers, then extra failovers left to prune). A member in such a
/// bridge is finishing, and finishing is always admitted; a change of the
/// failover list alone (same primary, not a bridge) has not started.
pub fn not_started(desired: &Parents, configured: &Parents) -> bool {
    configured != desired && !crate::plan::bridge::is_bridge_of(desired, configured)
}

/// Members that want to start a change: gateways (topology order) then
/// agents (assignment order), each with its configured and desired parents.
/// The order is the planner's input order, so callers that pick "the first
/// N" (a rollout step) pick deterministically.
pub fn wanting<'a>(
    desired: &'a Topology,
    observed: &'a Observed,
    assignment: &'a Assignment,
) -> Vec<(MemberKind, &'a Name, &'a Parents, &'a Parents)> {
    let gw: FastMap<&Name, &Parents> = observed
        .gateways
        .iter()
        .map(|g| (&g.name, &g.parents))
        .collect();
    let ag: FastMap<&Name, &Parents> = observed
        .agents
        .iter()
        .map(|a| (&a.name, &a.parents))
        .collect();
    let gateways = desired.gateways.iter().filter_map(|g| {
        let now = gw.get(&g.name)?;
        not_started(&g.parents, now).then_some((MemberKind::Gateway, &g.name, *now, &g.parents))
    });
    let agents = assignment.agents.iter().filter_map(|a| {
        let now = ag.get(&a.name)?;
        not_started(&a.parents, now).then_some((MemberKind::Agent, &a.name, *now, &a.parents))
    });
    gateways.chain(agents).collect()
}

/// The desired state and assignment with every not-admitted change that has
/// not started replaced by the member's configured parents (and a held
/// store failover dropped), plus what was held, in [`wanting`] order with
/// the store last. `admit` is asked only about changes that have not
/// started; with an `admit` that says yes to everything the inputs come
/// back unchanged and nothing is held.
///
/// What nothing changed is borrowed, not copied: every reconcile pass goes
/// through here, and most hold nothing back.
pub fn hold<'a>(
    desired: &'a Topology,
    observed: &Observed,
    assignment: &'a Assignment,
    admit: &dyn Fn(Subject<'_>) -> bool,
) -> (Cow<'a, Topology>, Cow<'a, Assignment>, Vec<Held>) {
    let mut held = Vec::new();
    let mut keep: FastMap<(MemberKind, Name), Parents> = FastMap::default();
    for (kind, name, now, want) in wanting(desired, observed, assignment) {
        if !admit(Subject::Member(kind, name)) {
            keep.insert((kind, name.clone()), now.clone());
            held.push(Held {
                kind: Some(kind),
                name: name.clone(),
                from: Some(now.clone()),
                to: Some(want.clone()),
            });
        }
    }
    let store_held = desired.management_store.as_ref().filter(|store| {
        let active_there = observed
            .management_store
            .as_ref()
            .is_some_and(|s| s.active_pools().contains(&&store.pool));
        !active_there && !admit(Subject::Store)
    });
    if let Some(store) = store_held {
        held.push(Held {
            kind: None,
            name: store.pool.clone(),
            from: None,
            to: None,
        });
    }
    if keep.is_empty() && store_held.is_none() {
        return (Cow::Borrowed(desired), Cow::Borrowed(assignment), held);
    }
    let mut d = desired.clone();
    if store_held.is_some() {
        d.management_store = None;
    }
    if keep.is_empty() {
        return (Cow::Owned(d), Cow::Borrowed(assignment), held);
    }
    let mut a = assignment.clone();
    for g in &mut d.gateways {
        if let Some(p) = keep.get(&(MemberKind::Gateway, g.name.clone())) {
            g.parents = p.clone();
            // Positions of the failovers no longer match: point them all at
            // the primary's, which still names the entry.
            g.failover_pos = vec![g.primary_pos.clone(); g.parents.failover.len()];
        }
    }
    for ag in &mut a.agents {
        if let Some(p) = keep.get(&(MemberKind::Agent, ag.name.clone())) {
            ag.parents = p.clone();
        }
    }
    // Named agents are also in the desired topology; keep both in step.
    for ag in &mut d.agents {
        if let Some(p) = keep.get(&(MemberKind::Agent, ag.name.clone())) {
            ag.parents = p.clone();
            ag.failover_pos = vec![ag.primary_pos.clone(); ag.parents.failover.len()];
        }
    }
    (Cow::Owned(d), Cow::Owned(a), held)
}

#[cfg(test)]
mod tests;
