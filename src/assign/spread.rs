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
use super::hash::{MAX_POOL, name_hash, pair_weight, priority, rank_key, rank_of};
use crate::model::{ObservedMember, Parents};
use crate::name::Name;
use crate::plan::fasthash::FastMap as HashMap;

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
/// 2. The others, in the order of [`priority`] of their name hash (a
///    fixed, fair order), each take the highest-weight *ready* member that still has
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
    names.truncate(MAX_POOL);
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
    // (name hash, index into `agents`), later sorted by priority.
    let mut queue: Vec<(u64, usize)> = Vec::with_capacity(agents.len());
    let mut top: Vec<(u64, usize)> = Vec::with_capacity(failovers + 1);
    let mut taken = vec![0u32; members.len()];
    let any_not_ready = members.iter().any(|m| !m.ready);

    // 1. Sticky on a pool member that is not ready.
    for (i, a) in agents.iter().enumerate() {
        let sticky = if any_not_ready {
            members
                .iter()
                .position(|m| !m.ready && m.name == a.parents.primary)
        } else {
            None
        };
        match sticky {
            Some(j) => {
                members[j].room -= 1;
                taken[j] += 1;
                let ha = name_hash(&a.name);
                let failover = ranked(&members, ha, failovers, &mut top);
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

    // 2. Everyone else in a fixed order: highest-weight ready member with
    // room. The inner loop scores each ready member once and keeps, beside
    // the best member with room, the `failovers + 1` best overall (enough to
    // fill the failovers after skipping the primary).
    let ready_room = |m: &Member| if m.ready { m.room } else { i64::MAX };
    let binding = members.iter().map(ready_room).min().unwrap_or(0) < queue.len() as i64;
    if binding {
        // Only when some member could fill up does the order matter; then
        // it is the agents' own hash order, never the order observed.
        let mut keyed: Vec<(u64, u64, usize)> =
            queue.iter().map(|&(ha, i)| (priority(ha), ha, i)).collect();
        keyed.sort_unstable_by(|x, y| {
            x.0.cmp(&y.0)
                .then_with(|| agents[x.2].name.cmp(&agents[y.2].name))
        });
        queue = keyed.into_iter().map(|(_, ha, i)| (ha, i)).collect();
    }
    let ready: Vec<usize> = (0..members.len()).filter(|&j| members[j].ready).collect();
    let hashes: Vec<u64> = ready.iter().map(|&j| members[j].hash).collect();
    let mut room: Vec<i64> = ready.iter().map(|&j| members[j].room).collect();
    let keep = failovers + 1;
    let mut keys: Vec<u64> = vec![0; hashes.len()];
    let mut best_keys: Vec<u64> = vec![0; keep];
    for &(ha, i) in &queue {
        // Score every ready member (ready members are in name order, so
        // `k` is a name rank), then pick with branch-free max/min: a key
        // is never 0, so 0 means "none".
        match keep {
            1 => score::<1>(ha, &hashes, &mut keys, &mut best_keys),
            2 => score::<2>(ha, &hashes, &mut keys, &mut best_keys),
            3 => score::<3>(ha, &hashes, &mut keys, &mut best_keys),
            4 => score::<4>(ha, &hashes, &mut keys, &mut best_keys),
            _ => score_any(ha, &hashes, &mut keys, &mut best_keys),
        }
        let best = if !binding {
            // Every ready member has room for every agent left.
            best_keys[0]
        } else {
            keys.iter()
                .zip(&room)
                .map(|(&key, &r)| if r > 0 { key } else { 0 })
                .max()
                .unwrap_or(0)
        };
        let chosen = match (best, infeasible) {
            (0, true) => best_keys[0],
            (b, _) => b,
        };
        let chosen = (chosen != 0).then(|| rank_of(chosen));
        top.clear();
        top.extend(
            best_keys
                .iter()
                .filter(|&&key| key != 0)
                .map(|&key| (key, rank_of(key))),
        );
        out[i] = Some(match chosen {
            Some(k) => {
                room[k] -= 1;
                taken[ready[k]] += 1;
                let failover = top
                    .iter()
                    .filter(|&&(_, f)| f != k)
                    .take(failovers)
                    .map(|&(_, f)| members[ready[f]].name.clone())
                    .collect();
                Placed {
                    parents: Parents {
                        primary: members[ready[k]].name.clone(),
                        failover,
                    },
                    note: None,
                }
            }
            None => {
                *load.entry(agents[i].parents.primary.clone()).or_default() += 1;
                Placed {
                    parents: agents[i].parents.clone(),
                    note: Some(Note::WaitingForReadyRoom),
                }
            }
        });
    }

    for (m, n) in members.iter().zip(taken) {
        if n > 0 {
            *load.entry(m.name.clone()).or_default() += n;
        }
    }
    let placed = out
        .into_iter()
        .map(|p| p.expect("every agent is placed in step 1 or 2"))
        .collect();
    (placed, shortfall)
}

/// Scores every ready member for the agent hashed `ha` into `keys` (ready
/// members are in name order, so an index is a name rank) and puts the `N`
/// highest keys, highest first, into `best` (0 where there are fewer: a key
/// is never 0).
///
/// This is the hot loop (members x agents). `N` is a constant so the best
/// keys live in registers and the selection is branch-free max/min.
#[inline]
fn score<const N: usize>(ha: u64, hashes: &[u64], keys: &mut [u64], best: &mut [u64]) {
    let mut top = [0u64; N];
    for (k, (key, &h)) in keys.iter_mut().zip(hashes).enumerate() {
        let mut x = rank_key(pair_weight(ha, h), k);
        *key = x;
        for t in top.iter_mut() {
            let hi = (*t).max(x);
            x = (*t).min(x);
            *t = hi;
        }
    }
    best.copy_from_slice(&top);
}

/// [`score`] for any number of best keys.
fn score_any(ha: u64, hashes: &[u64], keys: &mut [u64], best: &mut [u64]) {
    best.fill(0);
    for (k, (key, &h)) in keys.iter_mut().zip(hashes).enumerate() {
        let mut x = rank_key(pair_weight(ha, h), k);
        *key = x;
        for t in best.iter_mut() {
            let hi = (*t).max(x);
            x = (*t).min(x);
            *t = hi;
        }
    }
}

/// The `n` highest-ranked ready members for an agent, highest first. `top` is scratch space, reused to avoid allocating.
fn ranked(members: &[Member], ha: u64, n: usize, top: &mut Vec<(u64, usize)>) -> Vec<Name> {
    if n == 0 {
        return Vec::new();
    }
    top.clear();
    for (j, m) in members.iter().enumerate() {
        if !m.ready {
            continue;
        }
        let w = rank_key(pair_weight(ha, m.hash), j);
        if top.len() == n && top[n - 1].0 >= w {
            continue;
        }
        let at = top.iter().position(|&(tw, _)| w > tw).unwrap_or(top.len());
        top.insert(at, (w, j));
        top.truncate(n);
    }
    top.iter().map(|&(_, j)| members[j].name.clone()).collect()
}
