//! `spread` rules: rendezvous hashing with bounded loads.
//!
//! Owns the choice of a primary and failovers from a pool for each agent a
//! spread rule matched (the algorithm and its guarantees are written up in
//! `docs/assignment.md`). Pure: a function of the agents' names, the pool,
//! which pool members are ready, and how much room each has. Must not look
//! at which parents an agent has now, except to keep an agent on a pool
//! member that is not ready.

use super::Note;
use super::capacity::Servers;
use super::hash::{name_hash, pair_weight};
use crate::model::{ObservedMember, Parents};
use crate::name::Name;
use std::collections::HashMap;

/// Where one matched agent goes.
pub(crate) struct Placed {
    /// Its desired parents.
    pub parents: Parents,
    /// Why it is not where pure hashing would put it, if it is not.
    pub note: Option<Note>,
}

/// The pool could not take the rule's agents.
pub(crate) struct Shortfall {
    /// The distinct pool members, sorted by name.
    pub pool: Vec<Name>,
    /// Agents the rule matched.
    pub demand: u64,
    /// Sum of the pool members' capacities.
    pub capacity: u64,
    /// Members already on pool members from elsewhere (explicit entries,
    /// fixed rules, unmanaged agents, gateways, earlier spread rules).
    pub used: u64,
}

struct Member {
    name: Name,
    hash: u64,
    ready: bool,
    room: i64,
}

/// Places `agents` (all matched by one spread rule) on `pool`, and adds
/// their primaries to `load`.
///
/// 1. Agents whose observed primary is a pool member that is not ready (or
///    not observed) stay on it, noted [`Note::KeptOnNotReady`].
/// 2. The others, in the order of their own name hash (a fixed, fair
///    order), each take the highest-weight *ready* member that still has
///    room under its capacity. With room to spare everywhere that is plain
///    rendezvous hashing.
/// 3. Failovers are the next ready members in the agent's own hash order,
///    skipping its primary; they do not use capacity.
///
/// When the pool's total room is smaller than the number of agents, the
/// shortfall is returned and the agents that find no room go to their best
/// ready member anyway (so later rules see the load); the caller reports an
/// error. When there is room in all but no ready member has any left, the
/// agent keeps its observed parents, noted [`Note::WaitingForReadyRoom`].
pub(crate) fn place(
    pool: &[Name],
    failovers: usize,
    agents: &[&ObservedMember],
    servers: &Servers,
    load: &mut HashMap<Name, u32>,
) -> (Vec<Placed>, Option<Shortfall>) {
    let mut names: Vec<Name> = pool.to_vec();
    names.sort();
    names.dedup();
    let mut members: Vec<Member> = names
        .iter()
        .map(|s| {
            let used = load.get(s).copied().unwrap_or(0);
            Member {
                name: s.clone(),
                hash: name_hash(s),
                ready: servers.is_ready(s),
                room: i64::from(servers.capacity(s)) - i64::from(used),
            }
        })
        .collect();
    let capacity: u64 = names.iter().map(|s| u64::from(servers.capacity(s))).sum();
    let used: u64 = names
        .iter()
        .map(|s| u64::from(load.get(s).copied().unwrap_or(0)))
        .sum();
    let room: u64 = members.iter().map(|m| m.room.max(0) as u64).sum();
    let demand = agents.len() as u64;
    let shortfall = (demand > room).then(|| Shortfall {
        pool: names.clone(),
        demand,
        capacity,
        used,
    });
    let infeasible = shortfall.is_some();

    let mut out: Vec<Option<Placed>> = (0..agents.len()).map(|_| None).collect();
    let mut queue: Vec<(u64, usize)> = Vec::with_capacity(agents.len());
    let mut top: Vec<(u64, usize)> = Vec::with_capacity(failovers + 1);

    // 1. Sticky on a pool member that is not ready.
    for (i, a) in agents.iter().enumerate() {
        let sticky = members
            .iter()
            .position(|m| !m.ready && m.name == a.parents.primary);
        match sticky {
            Some(j) => {
                members[j].room -= 1;
                let ha = name_hash(&a.name);
                let failover = ranked(&members, ha, None, failovers, &mut top);
                out[i] = Some(Placed {
                    parents: Parents {
                        primary: members[j].name.clone(),
                        failover,
                    },
                    note: Some(Note::KeptOnNotReady {
                        server: members[j].name.clone(),
                    }),
                });
            }
            None => queue.push((name_hash(&a.name), i)),
        }
    }

    // 2. Everyone else in a fixed order: highest-weight ready member with room.
    queue.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| agents[x.1].name.cmp(&agents[y.1].name))
    });
    for &(ha, i) in &queue {
        let mut best: Option<(u64, usize)> = None;
        let mut best_any: Option<(u64, usize)> = None;
        for (j, m) in members.iter().enumerate() {
            if !m.ready {
                continue;
            }
            let w = pair_weight(ha, m.hash);
            if best_any.is_none_or(|(bw, _)| w > bw) {
                best_any = Some((w, j));
            }
            if m.room > 0 && best.is_none_or(|(bw, _)| w > bw) {
                best = Some((w, j));
            }
        }
        let chosen = best.or(if infeasible { best_any } else { None });
        out[i] = Some(match chosen {
            Some((_, j)) => {
                members[j].room -= 1;
                Placed {
                    parents: Parents {
                        primary: members[j].name.clone(),
                        failover: ranked(&members, ha, Some(j), failovers, &mut top),
                    },
                    note: None,
                }
            }
            None => Placed {
                parents: agents[i].parents.clone(),
                note: Some(Note::WaitingForReadyRoom),
            },
        });
    }

    for (p, a) in out.iter().zip(agents) {
        let primary = p
            .as_ref()
            .map_or(&a.parents.primary, |p| &p.parents.primary);
        *load.entry(primary.clone()).or_default() += 1;
    }
    let placed = out
        .into_iter()
        .map(|p| p.expect("every agent is placed in step 1 or 2"))
        .collect();
    (placed, shortfall)
}

/// The `n` highest-weight ready members for an agent, skipping `primary`,
/// highest first. `top` is scratch space, reused to avoid allocating.
fn ranked(
    members: &[Member],
    ha: u64,
    primary: Option<usize>,
    n: usize,
    top: &mut Vec<(u64, usize)>,
) -> Vec<Name> {
    if n == 0 {
        return Vec::new();
    }
    top.clear();
    for (j, m) in members.iter().enumerate() {
        if !m.ready || Some(j) == primary {
            continue;
        }
        let w = pair_weight(ha, m.hash);
        if top.len() == n && top[n - 1].0 >= w {
            continue;
        }
        // Insert keeping `top` sorted by weight, highest first; members come
        // in name order, so equal weights keep the smaller name first.
        let at = top.iter().position(|&(tw, _)| w > tw).unwrap_or(top.len());
        top.insert(at, (w, j));
        top.truncate(n);
    }
    top.iter().map(|&(_, j)| members[j].name.clone()).collect()
}
