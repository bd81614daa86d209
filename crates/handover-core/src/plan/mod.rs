//! Planning: turns (desired, observed, policy) into an ordered, checked Plan.
//!
//! Owns the plan shape of docs/spec.md section 4 ([`Plan`], [`Step`], [`Action`])
//! and the pure planner, which keeps every safety rule of docs/spec.md section 3
//! (argued in `docs/safety.md`; the design is in `docs/planner.md`). No I/O,
//! no clock, no randomness: the same inputs give the same plan, byte for
//! byte. Rendering lives in `render`; applying lives in `execute`.
//!
//! The planner is split by concept: [`bridge`] (make before break),
//! `diff` (one member's change), `ready` (parent readiness), `chain`
//! (where a gateway's primary chain leads), `order` (gateways parents first), `store` (the Central Management Store), `build`
//! (ids, `after`, retirement) and [`digest`] (stale-plan detection).

pub mod admit;
pub mod approval;
pub mod bridge;
mod build;
mod chain;
pub mod counts;
mod diff;
mod digest;
pub mod direct;
mod estimate;
pub mod forecast;
mod order;
mod ready;
pub mod rollout;
mod store;
pub mod types;

pub use counts::Counts;
pub use digest::digest;
pub(crate) use store::store_actions;

#[cfg(test)]
mod tests;
pub use types::*;

use crate::assign::{self, AssignError, Assignment};
use crate::model::{Observed, Topology};

/// Plans the change from `observed` to `desired` under `desired.policy`.
///
/// Agents' desired parents come from [`assign::resolve_lenient`]: a spread
/// rule over capacity still places its agents (commands report capacity
/// problems with [`assign::check`] before they plan). The plan carries its
/// [`digest`] in `observed_digest`.
///
/// # Panics
/// When a rule's glob does not compile. The loader validates topologies
/// and rejects such globs first; for unvalidated input use [`try_plan`].
pub fn plan(desired: &Topology, observed: &Observed) -> Plan {
    let (assignment, _over_capacity) =
        assign::resolve_lenient(desired, observed).expect("a validated topology's globs compile");
    plan_assigned(desired, observed, &assignment)
}

/// [`plan`] for unvalidated input: a glob that does not compile, or a spread
/// rule over capacity, is returned as an error instead.
pub fn try_plan(desired: &Topology, observed: &Observed) -> Result<Plan, AssignError> {
    let assignment = assign::resolve(desired, observed)?;
    Ok(plan_assigned(desired, observed, &assignment))
}

/// Plans with an assignment already resolved (for callers that keep one).
pub fn plan_assigned(desired: &Topology, observed: &Observed, assignment: &Assignment) -> Plan {
    let mut p = build::build(desired, observed, assignment);
    p.observed_digest = Some(digest(observed, &p));
    p.policy = Some(PlanPolicy::of(&desired.policy));
    p.gates = gates_of(desired, observed, assignment);
    // Observed gateways absent from the topology that this plan does not
    // retire stay on their management server.
    let desired_gateways: crate::hash::FastSet<&crate::name::Name> =
        desired.gateways.iter().map(|g| &g.name).collect();
    let retired: crate::hash::FastSet<&crate::name::Name> = p.retired_gateways().collect();
    let kept: crate::hash::FastSet<&crate::name::Name> = observed
        .gateways
        .iter()
        .map(|g| &g.name)
        .filter(|n| !desired_gateways.contains(n) && !retired.contains(n))
        .collect();
    p.loads = assign::loads_keeping(desired, observed, assignment, &kept);
    canonical_spelling(&mut p.loads, desired, observed);
    p.notes = assignment
        .notes()
        .map(|(name, note)| AgentNote {
            name: name.clone(),
            note: note.to_string(),
        })
        .collect();
    p
}

/// The gates `apply PLANFILE` must check: the topology's windows, and the
/// approval its changes need when they are above `policy.approval`
/// (whether approved yet or not: approvals are looked up when applying).
/// `None` when the topology has neither gate.
fn gates_of(desired: &Topology, observed: &Observed, assignment: &Assignment) -> Option<PlanGates> {
    let p = &desired.policy;
    if p.windows.is_empty() && p.approval.is_none() {
        return None;
    }
    let approval = match approval::gate(
        p.approval.as_ref(),
        desired,
        observed,
        assignment,
        &crate::hash::FastSet::default(),
        &|_| false,
    ) {
        approval::Gate::Waiting(w) => Some(PlanApproval {
            digest: w.digest,
            members: w.members,
            managed: w.managed,
            threshold: w.threshold,
        }),
        _ => None,
    };
    Some(PlanGates {
        windows: p.windows.clone(),
        approval,
    })
}

/// Spells each load row's server as its definition does (the desired
/// topology's, else the observed server's; lowercase when neither defines
/// it), so the rows do not depend on which mention of a name was seen first.
fn canonical_spelling(loads: &mut [assign::Load], desired: &Topology, observed: &Observed) {
    let mut spelled: crate::hash::FastMap<&crate::name::Name, &crate::name::Name> =
        crate::hash::FastMap::default();
    let defined = desired
        .management_servers
        .iter()
        .map(|m| &m.name)
        .chain(desired.gateways.iter().map(|g| &g.name))
        .chain(observed.management_servers.iter().map(|m| &m.name))
        .chain(observed.gateways.iter().map(|g| &g.name));
    for name in defined {
        spelled.entry(name).or_insert(name);
    }
    for l in loads {
        l.server = match spelled.get(&l.server) {
            Some(s) => (*s).clone(),
            // Named only by members, spelled differently by each: lowercase.
            None => crate::name::Name::parse(&l.server.to_lowercase())
                .unwrap_or_else(|_| l.server.clone()),
        };
    }
}
