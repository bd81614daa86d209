//! Assembling the plan: ids, causal order, retirement and the store.
//!
//! Owns how member changes become numbered steps with `after` lists (docs/spec.md
//! section 4 and rule 4): each member's steps in a chain; a member moving
//! onto a gateway that itself changes comes after that gateway's last step,
//! and after the last step of every gateway higher up that gateway's chain
//! that has a planned change (rule 3, `chain`); a move onto a
//! chain that loops, passes through the member or leads nowhere is blocked;
//! a gateway is retired after the last step of every member that listed it
//! or talked to it; the store's steps stand alone. Phases are numbered in
//! order (gateways parents-first, agents by name, retirements by name, the
//! store) so `after` only ever names earlier ids. Pure.
//!
//! Must not judge a single member (`diff`), a parent (`ready`) or a chain
//! (`chain`) itself.

use super::chain::Chains;
use super::diff::{Change, Move, change};
use super::order::{gateway_order, order_with};
use super::ready::Servers;
use super::store::store_actions;
use super::types::{Action, BlockReason, Blocked, BlockedKind, Plan, Step};
use crate::assign::Assignment;
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{MemberDef, MemberKind, Observed, ObservedMember, Parents, Topology};
use crate::name::Name;

/// A member's last step and the parents it ends with.
type Last<'a> = HashMap<Name, (u32, &'a Parents)>;

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, action: Action, after: Vec<u32>) -> u32 {
        let id = self.steps.len() as u32 + 1;
        self.steps.push(Step { id, action, after });
        id
    }

    /// Emits one member's chain of steps; returns the id of the last one.
    fn member(&mut self, kind: MemberKind, name: &Name, m: Move, after: Vec<u32>) -> u32 {
        let mut after = after;
        if let Some(b) = m.bridge {
            let id = self.push(
                Action::SetParents {
                    kind,
                    name: name.clone(),
                    primary: b.primary,
                    failover: b.failover,
                    bridge: true,
                },
                after,
            );
            after = vec![id];
        }
        if m.await_primary {
            let id = self.push(
                Action::AwaitConnected {
                    kind,
                    name: name.clone(),
                    server: m.target.primary.clone(),
                },
                after,
            );
            after = vec![id];
        }
        self.push(
            Action::SetParents {
                kind,
                name: name.clone(),
                primary: m.target.primary,
                failover: m.target.failover,
                bridge: false,
            },
            after,
        )
    }
}

/// The ids a member moving onto `onto` must wait for: the last step of
/// each of those gateways that itself changes, and of each gateway higher
/// up their chains that has a planned change (see [`Chains::changing`]).
fn waits_for(onto: &[Name], gateways: &Last<'_>, chains: &mut Chains<'_>) -> Vec<u32> {
    let mut ids: Vec<u32> = Vec::new();
    for s in onto {
        ids.extend(gateways.get(s).map(|(id, _)| *id));
        for g in chains.changing(s) {
            ids.extend(gateways.get(g).map(|(id, _)| *id));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The first gateway of `onto` whose chain refuses `member`, as a reason.
fn chain_check(member: &Name, onto: &[Name], chains: &mut Chains<'_>) -> Result<(), BlockReason> {
    onto.iter().try_for_each(|s| chains.check(member, s))
}

/// Every desired gateway's change, in planning order, with the chain rule
/// applied: a gateway's move onto a gateway whose chain (as it will stand)
/// loops, passes through it or leads nowhere is blocked, which gives it
/// back its observed primary, so the others are judged again until nothing
/// changes (at most once per gateway). Returns the gateways in emission
/// order (parents and the chain gateways a move waits for first) with
/// their changes, the readiness index the agents are judged with, and the
/// chains.
fn decide_gateways<'a>(
    desired: &'a Topology,
    observed: &'a Observed,
) -> (Vec<(&'a MemberDef, Change)>, Servers<'a>, Chains<'a>) {
    let (order, _cycle) = gateway_order(&desired.gateways);
    let mut forced: HashMap<&'a Name, BlockReason> = HashMap::default();
    loop {
        let mut servers = Servers::new(desired, observed);
        let mut changes: Vec<Change> = Vec::with_capacity(order.len());
        for g in &order {
            let c = match forced.get(&g.name) {
                Some(r) => Change::Blocked(r.clone()),
                None => change(servers.gateway(&g.name), &g.parents, &servers),
            };
            if let Change::Move(m) = &c
                && m.await_primary
                && servers.gateway_up_and_ready(&g.name)
            {
                servers.will_connect(g.name.clone());
            }
            changes.push(c);
        }
        let moving = order
            .iter()
            .zip(&changes)
            .filter(|(_, c)| matches!(c, Change::Move(_)))
            .map(|(g, _)| (&g.name, &g.parents.primary));
        let mut chains = Chains::new(observed, moving);
        let mut refused: Vec<(&'a Name, BlockReason)> = Vec::new();
        let mut waits: HashMap<&Name, Vec<&Name>> = HashMap::default();
        for (g, c) in order.iter().zip(&changes) {
            let Change::Move(m) = c else { continue };
            if let Err(r) = chain_check(&g.name, &m.onto, &mut chains) {
                refused.push((&g.name, r));
                continue;
            }
            let mut w: Vec<&Name> = Vec::new();
            for s in &m.onto {
                w.extend(chains.changing(s).into_iter().filter(|x| *x != &g.name));
            }
            if !w.is_empty() {
                waits.insert(&g.name, w);
            }
        }
        if !refused.is_empty() {
            force_refusals(&mut forced, refused);
            continue;
        }
        let (emit, stuck) = order_with(&order, &waits);
        if !stuck.is_empty() {
            let moving: HashMap<&Name, bool> = order
                .iter()
                .zip(&changes)
                .map(|(g, c)| (&g.name, matches!(c, Change::Move(_))))
                .collect();
            for (g, with) in order_cycle(&stuck, &moving, &waits) {
                forced.insert(&g.name, BlockReason::ChainOrderCycle { with: with.clone() });
            }
            continue;
        }
        let mut by_name: HashMap<&Name, Change> =
            order.iter().map(|g| &g.name).zip(changes).collect();
        let decided = emit
            .into_iter()
            .map(|g| {
                let c = by_name.remove(&g.name).unwrap_or(Change::Converged);
                (g, c)
            })
            .collect();
        return (decided, servers, chains);
    }
}

/// Each moving gateway of `stuck` (those the order could not place),
/// with a stuck gateway it waits for (a desired parent or one of
/// `waits`). A cycle needs a wait, and only a move waits, so at least one
/// is returned. Gateways merely below the cycle are blocked too, so that
/// a re-plan after any prefix of the plan blocks the same ones; a
/// gateway with no change of its own is never reported blocked.
fn order_cycle<'a>(
    stuck: &[&'a MemberDef],
    changes: &HashMap<&Name, bool>,
    waits: &HashMap<&Name, Vec<&'a Name>>,
) -> Vec<(&'a MemberDef, &'a Name)> {
    let names: HashSet<&Name> = stuck.iter().map(|g| &g.name).collect();
    stuck
        .iter()
        .filter(|g| changes.get(&g.name).copied().unwrap_or(false))
        .map(|g| {
            let waited = waits.get(&g.name).into_iter().flatten().copied();
            let with = waited
                .filter(|x| *x != &g.name && names.contains(x))
                .min()
                .or_else(|| {
                    g.parents
                        .iter()
                        .filter(|x| *x != &g.name && names.contains(x))
                        .min()
                })
                .unwrap_or(&g.name);
            (*g, with)
        })
        .collect()
}

/// Blocks this round's chain refusals, except those whose refused chain
/// runs through another gateway refused in the same round: blocking that
/// one gives it back its observed primary, which may mend the chain, so
/// they are judged again next round. When every refusal rests on another
/// (a ring of them), all are blocked, so each round blocks at least one.
fn force_refusals<'a>(
    forced: &mut HashMap<&'a Name, BlockReason>,
    refused: Vec<(&'a Name, BlockReason)>,
) {
    let names: HashSet<&Name> = refused.iter().map(|(g, _)| *g).collect();
    let rests_on_another =
        |g: &Name, r: &BlockReason| r.servers().into_iter().any(|x| x != g && names.contains(x));
    let independent = refused
        .iter()
        .filter(|(g, r)| !rests_on_another(g, r))
        .count();
    for (g, r) in refused {
        if independent == 0 || !rests_on_another(g, &r) {
            forced.insert(g, r);
        }
    }
}

/// Builds the plan from a resolved assignment.
pub(crate) fn build(desired: &Topology, observed: &Observed, assignment: &Assignment) -> Plan {
    let mut b = Builder { steps: Vec::new() };
    let mut blocked = Vec::new();

    // Gateways: parents, and the chain gateways a move waits for, first.
    let mut gateway_last: Last<'_> = HashMap::default();
    let (decided, servers, mut chains) = decide_gateways(desired, observed);
    let cycle = gateway_order(&desired.gateways).1;
    for (g, c) in decided {
        match c {
            Change::Converged => {}
            Change::Blocked(r) => {
                blocked.push(Blocked::new(BlockedKind::Gateway, g.name.clone(), r))
            }
            Change::Move(m) => {
                let after = waits_for(&m.onto, &gateway_last, &mut chains);
                let id = b.member(MemberKind::Gateway, &g.name, m, after);
                gateway_last.insert(g.name.clone(), (id, &g.parents));
            }
        }
    }
    for g in cycle {
        if servers.gateway(&g.name).map(|o| &o.parents) != Some(&g.parents) {
            blocked.push(Blocked::new(
                BlockedKind::Gateway,
                g.name.clone(),
                BlockReason::ParentCycle,
            ));
        }
    }

    // Agents, by name. What a move onto a gateway waits for is the same for
    // every agent: memoised per gateway.
    let mut observed_agents: HashMap<&Name, &ObservedMember> =
        HashMap::with_capacity_and_hasher(observed.agents.len(), Default::default());
    for a in &observed.agents {
        observed_agents.entry(&a.name).or_insert(a);
    }
    let mut agents: Vec<_> = assignment.agents.iter().collect();
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    let mut agent_last: Last<'_> =
        HashMap::with_capacity_and_hasher(agents.len(), Default::default());
    let mut onto_waits: HashMap<Name, Vec<u32>> = HashMap::default();
    for a in agents {
        let obs = observed_agents.get(&a.name).copied();
        let c = match change(obs, &a.parents, &servers) {
            Change::Move(m) => match chain_check(&a.name, &m.onto, &mut chains) {
                Ok(()) => Change::Move(m),
                Err(r) => Change::Blocked(r),
            },
            other => other,
        };
        match c {
            Change::Converged => {}
            Change::Blocked(r) => blocked.push(Blocked::new(BlockedKind::Agent, a.name.clone(), r)),
            Change::Move(m) => {
                let mut after: Vec<u32> = Vec::new();
                for s in &m.onto {
                    if !onto_waits.contains_key(s) {
                        let w = waits_for(std::slice::from_ref(s), &gateway_last, &mut chains);
                        onto_waits.insert(s.clone(), w);
                    }
                    after.extend_from_slice(&onto_waits[s]);
                }
                if m.onto.len() > 1 {
                    after.sort_unstable();
                    after.dedup();
                }
                let id = b.member(MemberKind::Agent, &a.name, m, after);
                agent_last.insert(a.name.clone(), (id, &a.parents));
            }
        }
    }

    // Observed gateways absent from the topology.
    let desired_gateways: HashSet<&Name> = desired.gateways.iter().map(|g| &g.name).collect();
    let mut absent: Vec<&Name> = observed
        .gateways
        .iter()
        .map(|g| &g.name)
        .filter(|n| !desired_gateways.contains(n))
        .collect();
    absent.sort();
    absent.dedup();
    let mut unmanaged_gateways = 0;
    if desired.policy.retire_gateways && !absent.is_empty() {
        let users = users_of(&absent, observed);
        let still_desired = desired_users(&absent, desired, assignment);
        let retiring: HashSet<&Name> = absent.iter().copied().collect();
        // Per gateway: the member steps it waits for and the retiring
        // gateways that list it (retired first), or why it cannot go.
        let mut pending: Vec<(&Name, Vec<u32>, Vec<&Name>)> = Vec::new();
        for g in &absent {
            let r = match still_desired.get(g) {
                Some(by) => Err(BlockReason::GatewayInUse {
                    by: (*by).clone(),
                    others: 0,
                }),
                None => retire_after(g, users.get(g), &retiring, &gateway_last, &agent_last),
            };
            match r {
                Ok((after, before)) => pending.push((g, after, before)),
                Err(r) => blocked.push(Blocked::new(BlockedKind::Gateway, (*g).clone(), r)),
            }
        }
        // Retire in rounds: a gateway once every retiring gateway that
        // lists it is retired; by name within a round.
        let mut retired: HashMap<&Name, u32> = HashMap::default();
        loop {
            let ready: Vec<usize> = (0..pending.len())
                .filter(|&i| pending[i].2.iter().all(|b| retired.contains_key(b)))
                .collect();
            if ready.is_empty() {
                break;
            }
            let mut round: Vec<(&Name, Vec<u32>, Vec<&Name>)> = Vec::new();
            for i in ready.into_iter().rev() {
                round.push(pending.remove(i));
            }
            round.sort_by(|a, b| a.0.cmp(b.0));
            for (g, mut after, before) in round {
                after.extend(before.iter().map(|b| retired[b]));
                after.sort_unstable();
                after.dedup();
                let id = b.push(
                    Action::RetireGateway {
                        kind: MemberKind::Gateway,
                        name: g.clone(),
                    },
                    after,
                );
                retired.insert(g, id);
            }
        }
        for (g, _, before) in pending {
            let by = before
                .iter()
                .filter(|b| !retired.contains_key(*b))
                .min()
                .copied()
                .unwrap_or(g);
            blocked.push(Blocked::new(
                BlockedKind::Gateway,
                g.clone(),
                BlockReason::GatewayInUse {
                    by: by.clone(),
                    others: 0,
                },
            ));
        }
    } else {
        unmanaged_gateways = absent.len() as u64;
    }

    // The Central Management Store, on its own.
    if let Some(spec) = &desired.management_store {
        match store_actions(spec, observed.management_store.as_ref()) {
            Ok(actions) => {
                let mut after = Vec::new();
                for a in actions {
                    after = vec![b.push(a, after)];
                }
            }
            Err(r) => blocked.push(Blocked::new(BlockedKind::Store, spec.pool.clone(), r)),
        }
    }

    blocked.sort_by(|x, y| (x.kind, &x.name).cmp(&(y.kind, &y.name)));
    let mut plan = Plan::new(b.steps, blocked);
    plan.summary.unmanaged = assignment.unmanaged.len() as u64;
    plan.summary.unmanaged_gateways = unmanaged_gateways;
    plan
}

/// Every observed member that lists, or is connected to, one of `gateways`.
fn users_of<'a>(
    gateways: &[&'a Name],
    observed: &'a Observed,
) -> HashMap<&'a Name, Vec<(MemberKind, &'a Name)>> {
    let wanted: HashSet<&Name> = gateways.iter().copied().collect();
    let mut users: HashMap<&Name, Vec<(MemberKind, &Name)>> = HashMap::default();
    let members = observed
        .gateways
        .iter()
        .map(|m| (MemberKind::Gateway, m))
        .chain(observed.agents.iter().map(|m| (MemberKind::Agent, m)));
    for (kind, m) in members {
        let mut seen: Vec<&Name> = Vec::new();
        for s in m.parents.iter().chain(m.connected.iter()) {
            if let Some(g) = wanted.get(s)
                && !seen.contains(g)
            {
                seen.push(g);
                users.entry(*g).or_default().push((kind, &m.name));
            }
        }
    }
    users
}

/// For each of `gateways` that a desired member still lists (a topology
/// that validation would reject), the first such member.
fn desired_users<'a>(
    gateways: &[&'a Name],
    desired: &'a Topology,
    assignment: &'a Assignment,
) -> HashMap<&'a Name, &'a Name> {
    let wanted: HashSet<&Name> = gateways.iter().copied().collect();
    let mut by: HashMap<&Name, &Name> = HashMap::default();
    let members = desired
        .gateways
        .iter()
        .map(|g| (&g.name, &g.parents))
        .chain(assignment.agents.iter().map(|a| (&a.name, &a.parents)));
    for (name, parents) in members {
        for s in parents.iter() {
            if let Some(g) = wanted.get(s) {
                let e = by.entry(*g).or_insert(name);
                if name < *e {
                    *e = name;
                }
            }
        }
    }
    by
}

/// The member steps a retirement waits for and the retiring gateways that
/// must be retired first, or why it cannot happen: every other user must
/// have a change whose end state no longer lists the gateway.
fn retire_after<'a>(
    gateway: &Name,
    users: Option<&Vec<(MemberKind, &'a Name)>>,
    retiring: &HashSet<&Name>,
    gateway_last: &Last<'_>,
    agent_last: &Last<'_>,
) -> Result<(Vec<u32>, Vec<&'a Name>), BlockReason> {
    let mut after = Vec::new();
    let mut before = Vec::new();
    let mut stuck: Vec<&Name> = Vec::new();
    for (kind, name) in users.into_iter().flatten() {
        let last = match kind {
            MemberKind::Gateway => gateway_last.get(*name),
            MemberKind::Agent => agent_last.get(*name),
        };
        match last {
            Some((id, target)) if !target.lists(gateway) => after.push(*id),
            None if *kind == MemberKind::Gateway && retiring.contains(*name) => before.push(*name),
            _ => stuck.push(name),
        }
    }
    if let Some(by) = stuck.iter().min() {
        return Err(BlockReason::GatewayInUse {
            by: (*by).clone(),
            others: stuck.len() as u64 - 1,
        });
    }
    after.sort_unstable();
    after.dedup();
    Ok((after, before))
}
