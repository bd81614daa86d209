//! `spread` rules: balance a rule's agents over its pool, moving only what
//! balancing needs.
//!
//! Owns the choice of a primary and failovers from a pool for each agent a
//! spread rule matched (the algorithm, the meaning of *balanced* and the
//! proofs of its guarantees are in `docs/assignment.md`). Pure: a function of
//! the agents' names and observed parents, the pool, which pool members are
//! ready, and how much room each has; the order agents are observed in and
//! the case of names never matter. Must not decide which rule an agent
//! matches (that is `rules`) or plan how it moves (that is the planner).

use super::balance;
use super::capacity::Servers;
use super::hash::{MAX_POOL, name_hash, pair_weight, priority, rank_key, rank_of};
use super::outcome::Note;
use crate::hash::FastMap as HashMap;
use crate::model::{ObservedMember, Parents};
use crate::name::Name;
use std::cmp::Ordering;

/// Where one matched agent goes.
pub(crate) struct Placed {
    /// Its desired parents.
    pub parents: Parents,
    /// Why it is not where balancing alone would put it, if it is not.
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

/// One distinct pool member.
struct Member {
    /// Its name, as the pool spells it.
    name: Name,
    /// Its [`name_hash`].
    hash: u64,
    /// Up (and, for a gateway, ready): may take new agents.
    ready: bool,
    /// Its capacity less what is on it from elsewhere (may be negative).
    room: i64,
}

/// What becomes of one matched agent, before failovers are chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Primary: this member (an index into the members).
    On(usize),
    /// Stays on this member, which is not ready.
    KeptOnNotReady(usize),
    /// No ready member has room; keeps its observed parents.
    Waiting,
}

/// Places `agents` (all matched by one spread rule) on `pool`, and adds
/// their primaries to `load`.
///
/// 1. Agents whose observed primary is a pool member that is not ready (or
///    not observed) stay on it, noted [`Note::KeptOnNotReady`].
/// 2. Every ready member gets a *quota* of the remaining agents: the even
///    share, capped by its room, with the remainder given first to members
///    that already hold more than the even share ([`balance::quotas`]).
/// 3. Agents on a ready member keep it up to its quota (those with the
///    highest rendezvous weight for it stay). The rest of them, and the
///    agents on no pool member, are dealt to the members below their quota,
///    member by member in a fixed order, in a fixed order of the agents
///    ([`deal`]).
/// 4. Failovers: the agent's observed failovers that are pool members (in
///    their order), then the next ready members in its hash order, skipping
///    its primary, up to `failovers`. They use no capacity.
///
/// When the pool's total room is smaller than the number of agents, the
/// shortfall is returned, quotas ignore capacity (an even spread) and every
/// agent is placed, so later rules see the load; the caller reports an
/// error. When the pool has room but its ready members do not, the agents
/// left over keep their observed parents, noted
/// [`Note::WaitingForReadyRoom`].
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
    let members: Vec<Member> = names
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

    let index: HashMap<&Name, usize> = members
        .iter()
        .enumerate()
        .map(|(j, m)| (&m.name, j))
        .collect();
    let hashes: Vec<u64> = agents.iter().map(|a| name_hash(&a.name)).collect();
    let mut fate: Vec<Fate> = vec![Fate::Waiting; agents.len()];

    // 1. Sticky on a member that is not ready; the rest sit on a ready
    // member or on none of the pool (fresh).
    let mut sitting: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
    let mut movers: Vec<usize> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        match index.get(&a.parents.primary) {
            Some(&j) if !members[j].ready => fate[i] = Fate::KeptOnNotReady(j),
            Some(&j) => sitting[j].push(i),
            None => movers.push(i),
        }
    }

    // 2. Quotas of the ready members, in a fixed order (by a hash of their
    // names, never by load, so a quota does not change while a plan runs).
    let mut ready: Vec<usize> = (0..members.len()).filter(|&j| members[j].ready).collect();
    ready.sort_by(|&x, &y| {
        priority(members[x].hash)
            .cmp(&priority(members[y].hash))
            .then_with(|| members[x].name.cmp(&members[y].name))
    });
    let placeable = movers.len() + sitting.iter().map(Vec::len).sum::<usize>();
    let slots: Vec<balance::Slot> = ready
        .iter()
        .map(|&j| balance::Slot {
            cap: if infeasible {
                u64::MAX
            } else {
                members[j].room.max(0) as u64
            },
            count: sitting[j].len() as u64,
        })
        .collect();
    let quota = balance::quotas(&slots, placeable as u64);

    // 3. Keep up to the quota; the lowest-weight agents of a member over its
    // quota become movers.
    let mut deficit: Vec<u64> = vec![0; ready.len()];
    let mut keyed: Vec<(u64, usize)> = Vec::new();
    for (r, &j) in ready.iter().enumerate() {
        let on = &sitting[j];
        let q = usize::try_from(quota[r]).unwrap_or(usize::MAX);
        if on.len() <= q {
            for &i in on {
                fate[i] = Fate::On(j);
            }
            deficit[r] = (q - on.len()) as u64;
            continue;
        }
        keyed.clear();
        keyed.extend(
            on.iter()
                .map(|&i| (pair_weight(hashes[i], members[j].hash), i)),
        );
        keyed.sort_unstable_by(|x, y| by_weight(agents, x, y));
        for &(_, i) in &keyed[..q] {
            fate[i] = Fate::On(j);
        }
        movers.extend(keyed[q..].iter().map(|&(_, i)| i));
    }

    // 4. Deal the movers to the members below their quota.
    let receivers: Vec<(usize, u64)> = ready
        .iter()
        .zip(&deficit)
        .filter(|&(_, &d)| d > 0)
        .map(|(&j, &d)| (j, d))
        .collect();
    for (i, j) in deal(agents, &hashes, &receivers, movers) {
        fate[i] = Fate::On(j);
    }

    // 5. Failovers, and the load each primary now carries.
    let mut taken = vec![0u32; members.len()];
    let mut top: Vec<u64> = Vec::with_capacity(failovers + 1);
    let ready_hashes: Vec<(u64, usize)> = (0..members.len())
        .filter(|&k| members[k].ready)
        .map(|k| (members[k].hash, k))
        .collect();
    let placed = agents
        .iter()
        .zip(&fate)
        .zip(&hashes)
        .map(|((a, f), &ha)| match *f {
            Fate::On(j) | Fate::KeptOnNotReady(j) => {
                taken[j] += 1;
                let failover = choose_failovers(
                    a,
                    ha,
                    j,
                    failovers,
                    &members,
                    &index,
                    &ready_hashes,
                    &mut top,
                );
                Placed {
                    parents: Parents {
                        primary: members[j].name.clone(),
                        failover,
                    },
                    note: matches!(f, Fate::KeptOnNotReady(_)).then(|| Note::KeptOnNotReady {
                        server: members[j].name.clone(),
                    }),
                }
            }
            Fate::Waiting => {
                *load.entry(a.parents.primary.clone()).or_default() += 1;
                Placed {
                    parents: a.parents.clone(),
                    note: Some(Note::WaitingForReadyRoom),
                }
            }
        })
        .collect();
    for (m, n) in members.iter().zip(taken) {
        if n > 0 {
            *load.entry(m.name.clone()).or_default() += n;
        }
    }
    (placed, shortfall)
}

/// Highest weight first; equal weights (about one pair in 2^64) by name.
fn by_weight(agents: &[&ObservedMember], x: &(u64, usize), y: &(u64, usize)) -> Ordering {
    y.0.cmp(&x.0)
        .then_with(|| agents[x.1].name.cmp(&agents[y.1].name))
}

/// Deals `movers` to `receivers` (member index, how many it may take), in
/// the receivers' order: the movers are put in a fixed order (the
/// [`priority`] of their name hash, then their name) and each receiver
/// takes the next ones it is short of. Returns (agent, member) pairs;
/// movers left over once every receiver is full are not returned.
///
/// Dealing receiver by receiver, each taking the first of the movers still
/// left in an order of its own (here the same for all), is what makes a
/// plan's remaining work the same after any part of it has run: a mover
/// that has arrived no longer competes, and the member it arrived at is
/// short by one fewer, so every other receiver still takes the same agents
/// (`docs/assignment.md`, "Stable while a plan runs"). One shared order
/// makes it one sort.
fn deal(
    agents: &[&ObservedMember],
    hashes: &[u64],
    receivers: &[(usize, u64)],
    movers: Vec<usize>,
) -> Vec<(usize, usize)> {
    let mut keyed: Vec<(u64, usize)> = movers
        .into_iter()
        .map(|i| (priority(hashes[i]), i))
        .collect();
    keyed.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| agents[x.1].name.cmp(&agents[y.1].name))
    });
    let mut next = keyed.into_iter().map(|(_, i)| i);
    let mut out = Vec::new();
    for &(j, want) in receivers {
        for _ in 0..want {
            match next.next() {
                Some(i) => out.push((i, j)),
                None => return out,
            }
        }
    }
    out
}

/// An agent's failovers on primary `j`: its observed failovers that are
/// members of the pool (ready or not: readiness alone never changes an
/// agent's parents), in their order and without repeats, then the ready
/// members next in its hash order, up to `n`. `ready` holds each ready
/// member's (name hash, index); `top` is scratch space.
#[allow(clippy::too_many_arguments)]
fn choose_failovers(
    a: &ObservedMember,
    ha: u64,
    j: usize,
    n: usize,
    members: &[Member],
    index: &HashMap<&Name, usize>,
    ready: &[(u64, usize)],
    top: &mut Vec<u64>,
) -> Vec<Name> {
    let mut chosen: Vec<usize> = Vec::with_capacity(n);
    for s in &a.parents.failover {
        if chosen.len() == n {
            break;
        }
        if let Some(&f) = index.get(s)
            && f != j
            && !chosen.contains(&f)
        {
            chosen.push(f);
        }
    }
    if chosen.len() < n {
        // The best ready members in hash order, enough to fill up after
        // skipping the primary and those already chosen.
        match n + 1 + chosen.len() {
            1 => best::<1>(ha, ready, top),
            2 => best::<2>(ha, ready, top),
            3 => best::<3>(ha, ready, top),
            4 => best::<4>(ha, ready, top),
            want => best_any(ha, ready, want, top),
        }
        for &key in top.iter() {
            if chosen.len() == n {
                break;
            }
            let k = rank_of(key);
            if k != j && !chosen.contains(&k) {
                chosen.push(k);
            }
        }
    }
    chosen
        .into_iter()
        .map(|k| members[k].name.clone())
        .collect()
}

/// The `N` highest [`rank_key`]s of `ha` over `ready` (name hash, member
/// index), highest first, into `top`. This is the hot loop when many agents
/// need failovers (agents x ready members): `N` is a constant so the best
/// keys stay in registers and the selection is branch-free max/min (a key
/// is never 0, so 0 means none).
#[inline]
fn best<const N: usize>(ha: u64, ready: &[(u64, usize)], top: &mut Vec<u64>) {
    let mut t = [0u64; N];
    for &(h, k) in ready {
        let mut x = rank_key(pair_weight(ha, h), k);
        for s in t.iter_mut() {
            let hi = (*s).max(x);
            x = (*s).min(x);
            *s = hi;
        }
    }
    top.clear();
    top.extend(t.into_iter().filter(|&key| key != 0));
}

/// [`best`] for any number of keys.
fn best_any(ha: u64, ready: &[(u64, usize)], want: usize, top: &mut Vec<u64>) {
    top.clear();
    top.resize(want, 0);
    for &(h, k) in ready {
        let mut x = rank_key(pair_weight(ha, h), k);
        for s in top.iter_mut() {
            let hi = (*s).max(x);
            x = (*s).min(x);
            *s = hi;
        }
    }
    top.retain(|&key| key != 0);
}
