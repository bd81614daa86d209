//! Property tests of the planner against docs/spec.md section 3.
//!
//! The checker here is written independently of the planner: it walks a
//! plan's steps in a random order that respects `after`, tracks for every
//! member its configured parents and the servers it may be talking to, and
//! fails on any step that would break a safety rule (including the chain
//! rule of docs/spec.md rule 3: a member moved onto a gateway whose primary chain,
//! as configured at that point of the walk, does not reach a management
//! server without passing through the member). Estates are random:
//! management servers, gateway hierarchies (desired: chained onto earlier
//! gateways, often the previous one, so three levels and more and no
//! cycles; observed: sometimes onto a later gateway, so moves go between
//! levels and an observed chain may even loop), agents with random
//! observed and desired parents, random
//! connections, random up/ready flags, members found mid-bridge, names that
//! differ only in case, unmanaged agents, gateways to retire and a store.

use handover::diag::Pos;
use handover::model::{
    DisasterRecovery, MemberDef, MemberKind, Observed, ObservedMember, ObservedPool,
    ObservedServer, ObservedStore, Parents, ServerDef, StoreSpec, Topology,
};
use handover::name::Name;
use handover::plan::{Action, BlockReason, BlockedKind, FailoverMode, Plan, Step, plan};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn nm(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn key(n: &Name) -> String {
    n.as_str().to_ascii_lowercase()
}

fn spell(rng: &mut ChaCha8Rng, s: &str) -> Name {
    if rng.random_bool(0.2) {
        nm(&s.to_ascii_uppercase())
    } else {
        nm(s)
    }
}

fn pick_parents(rng: &mut ChaCha8Rng, pool: &[String]) -> Vec<String> {
    let mut p = pool.to_vec();
    p.shuffle(rng);
    let k = rng.random_range(1..=pool.len().min(3));
    p.truncate(k);
    p
}

fn parents(rng: &mut ChaCha8Rng, list: &[String]) -> Parents {
    Parents {
        primary: spell(rng, &list[0]),
        failover: list[1..].iter().map(|s| spell(rng, s)).collect(),
    }
}

fn def(name: Name, parents: Parents) -> MemberDef {
    MemberDef {
        failover_pos: vec![Pos::default(); parents.failover.len()],
        name,
        parents,
        pos: Pos::default(),
        primary_pos: Pos::default(),
    }
}

/// A random estate: (desired, observed).
fn estate(seed: u64) -> (Topology, Observed) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = Topology::default();
    let mut o = Observed::new();
    let n_ms = rng.random_range(1..=3);
    let ms: Vec<String> = (1..=n_ms).map(|i| format!("ms{i}")).collect();
    for m in &ms {
        d.management_servers.push(ServerDef {
            name: spell(&mut rng, m),
            pos: Pos::default(),
        });
        o.management_servers.push(ObservedServer {
            name: nm(m),
            up: rng.random_bool(0.85),
        });
    }
    let n_gw = rng.random_range(0..=5);
    let all_gw: Vec<String> = (1..=n_gw).map(|i| format!("gw{i}")).collect();
    let mut pool: Vec<String> = ms.clone();
    for i in 1..=n_gw {
        let g = format!("gw{i}");
        // Observed: sometimes below a later gateway (a move between levels
        // undoes that; the observed chain may even loop).
        let old = if i < n_gw && rng.random_bool(0.3) {
            let wide: Vec<String> = ms
                .iter()
                .chain(&all_gw)
                .filter(|x| **x != g)
                .cloned()
                .collect();
            pick_parents(&mut rng, &wide)
        } else {
            pick_parents(&mut rng, &pool)
        };
        let mut new = if rng.random_bool(0.5) {
            old.clone()
        } else {
            pick_parents(&mut rng, &pool)
        };
        // Deep chains: often the desired primary is the previous gateway.
        if i > 1 && rng.random_bool(0.4) {
            let prev = format!("gw{}", i - 1);
            new.retain(|x| *x != prev);
            new.insert(0, prev);
            new.truncate(3);
        }
        if rng.random_bool(0.85) {
            let desired = parents(&mut rng, &new);
            d.gateways.push(def(spell(&mut rng, &g), desired));
        }
        if rng.random_bool(0.9) {
            let observed = in_flight_or(&mut rng, &old, &new);
            let connected = connection(&mut rng, &observed);
            o.gateways.push(ObservedMember {
                name: nm(&g),
                parents: parents(&mut rng, &observed),
                connected,
                up: rng.random_bool(0.85),
                ready: rng.random_bool(0.85),
                evidence: None,
            });
        }
        pool.push(g);
    }
    let n_agents = rng.random_range(0..=7);
    for i in 1..=n_agents {
        let a = format!("a{i}");
        let old = pick_parents(&mut rng, &pool);
        let new = if rng.random_bool(0.3) {
            old.clone()
        } else {
            pick_parents(&mut rng, &pool)
        };
        if rng.random_bool(0.85) {
            let desired = parents(&mut rng, &new);
            d.agents.push(def(spell(&mut rng, &a), desired));
        }
        if rng.random_bool(0.95) {
            let observed = in_flight_or(&mut rng, &old, &new);
            let connected = connection(&mut rng, &observed);
            o.agents.push(ObservedMember {
                name: nm(&a),
                parents: parents(&mut rng, &observed),
                connected,
                up: true,
                ready: true,
                evidence: None,
            });
        }
    }
    d.policy.retire_gateways = rng.random_bool(0.5);
    d.policy.max_in_flight = rng.random_range(1..=3);
    if rng.random_bool(0.3) {
        let pools = ["pool1", "pool2"];
        d.management_store = Some(StoreSpec {
            pool: nm(pools[rng.random_range(0..2)]),
            pos: Pos::default(),
            disaster_recovery: DisasterRecovery {
                allowed: rng.random_bool(0.5),
                backup_sql_server: rng.random_bool(0.5).then(|| nm("sql2")),
                ..Default::default()
            },
            restore: rng.random_bool(0.2),
        });
        o.management_store = Some(ObservedStore {
            active_pool: [None, Some(nm("pool1")), Some(nm("pool2"))][rng.random_range(0..3)]
                .clone(),
            pools: pools
                .iter()
                .map(|p| ObservedPool {
                    name: nm(p),
                    up: rng.random_bool(0.8),
                    active: rng.random_bool(0.3),
                })
                .collect(),
            replication_complete: rng.random_bool(0.5),
        });
    }
    (d, o)
}

/// Sometimes the member is found mid-bridge: desired list, then old extras.
fn in_flight_or(rng: &mut ChaCha8Rng, old: &[String], new: &[String]) -> Vec<String> {
    if old != new && rng.random_bool(0.25) {
        let mut b = new.to_vec();
        for s in old {
            if !b.contains(s) {
                b.push(s.clone());
            }
        }
        b
    } else {
        old.to_vec()
    }
}

fn connection(rng: &mut ChaCha8Rng, list: &[String]) -> Option<Name> {
    if rng.random_bool(0.2) {
        None
    } else {
        Some(nm(&list[rng.random_range(0..list.len())]))
    }
}

// ---------------------------------------------------------------------------
// The independent checker.

#[derive(Clone, Debug)]
struct MemberState {
    parents: Vec<String>,
    original: Vec<String>,
    connected: Option<String>,
    talking: BTreeSet<String>,
    desired: Option<Vec<String>>,
}

fn list(p: &Parents) -> Vec<String> {
    p.iter().map(key).collect()
}

struct World {
    members: BTreeMap<(MemberKind, String), MemberState>,
    ms_up: HashMap<String, bool>,
    gw_up_ready: HashMap<String, bool>,
    retired: BTreeSet<String>,
    /// Steps still to run per member (for "gateways first").
    pending: HashMap<(MemberKind, String), usize>,
}

fn world(d: &Topology, o: &Observed, p: &Plan) -> World {
    let mut desired: HashMap<(MemberKind, String), Vec<String>> = HashMap::new();
    for g in &d.gateways {
        desired.insert((MemberKind::Gateway, key(&g.name)), list(&g.parents));
    }
    for a in &d.agents {
        desired.insert((MemberKind::Agent, key(&a.name)), list(&a.parents));
    }
    let mut members = BTreeMap::new();
    for (kind, l) in [
        (MemberKind::Gateway, &o.gateways),
        (MemberKind::Agent, &o.agents),
    ] {
        for m in l {
            let k = (kind, key(&m.name));
            let parents = list(&m.parents);
            let talking = match &m.connected {
                Some(c) => BTreeSet::from([key(c)]),
                None => parents.iter().cloned().collect(),
            };
            members.insert(
                k.clone(),
                MemberState {
                    original: parents.clone(),
                    parents,
                    connected: m.connected.as_ref().map(key),
                    talking,
                    desired: desired.get(&k).cloned(),
                },
            );
        }
    }
    let mut pending = HashMap::new();
    for s in &p.steps {
        if let Some(k) = member_of(s) {
            *pending.entry(k).or_insert(0) += 1;
        }
    }
    World {
        members,
        ms_up: o
            .management_servers
            .iter()
            .map(|m| (key(&m.name), m.up))
            .collect(),
        gw_up_ready: o
            .gateways
            .iter()
            .map(|g| (key(&g.name), g.up && g.ready))
            .collect(),
        retired: BTreeSet::new(),
        pending,
    }
}

/// Whether a chain reason names a chain that holds if the gateways on it
/// that are themselves blocked made their desired move: each hop follows
/// the gateway's primary once the plan has run, or the desired primary of
/// a gateway whose own change is blocked, and at least one hop is such. Such a pair
/// of moves cannot both happen (one would close the loop the other opens),
/// so blocking the member is right even though, with the other blocked
/// too, the chain stands intact when the plan has run.
fn contingent(d: &Topology, o: &Observed, p: &Plan, reason: &BlockReason) -> bool {
    let (chain, end): (Vec<String>, Option<String>) = match reason {
        BlockReason::ParentChainLoop { chain, .. } => (chain.iter().map(key).collect(), None),
        BlockReason::ParentChainBroken { chain, end, .. } => {
            (chain.iter().map(key).collect(), Some(key(end)))
        }
        _ => return false,
    };
    let observed = |g: &str| {
        o.gateways
            .iter()
            .find(|x| key(&x.name) == g)
            .map(|x| key(&x.parents.primary))
    };
    let desired = |g: &str| {
        d.gateways
            .iter()
            .find(|x| key(&x.name) == g)
            .map(|x| key(&x.parents.primary))
    };
    let blocked = |g: &str| {
        p.blocked
            .iter()
            .any(|b| b.kind == BlockedKind::Gateway && key(&b.name) == g)
    };
    let mut used_blocked_move = false;
    let hops = chain.iter().zip(chain.iter().skip(1).chain(end.iter()));
    let moves = |g: &str| {
        p.steps.iter().any(|s| {
            matches!(&s.action, Action::SetParents { kind: MemberKind::Gateway, name, .. } if key(name) == g)
        })
    };
    for (x, y) in hops {
        if desired(x).as_deref() == Some(y.as_str()) && blocked(x) {
            used_blocked_move = true;
            continue;
        }
        let primary = if moves(x) { desired(x) } else { observed(x) };
        if primary.as_deref() != Some(y.as_str()) {
            return false;
        }
    }
    used_blocked_move
}

fn member_of(s: &Step) -> Option<(MemberKind, String)> {
    match &s.action {
        Action::SetParents { kind, name, .. } | Action::AwaitConnected { kind, name, .. } => {
            Some((*kind, key(name)))
        }
        _ => None,
    }
}

impl World {
    /// The chain rule (docs/spec.md rule 3): `onto`'s primary chain, as configured
    /// at this point of the walk, reaches a management server without
    /// passing through `member` (a gateway; `None` for an agent), without
    /// looping and without a retired or unknown gateway.
    fn chain(&self, member: Option<&str>, onto: &str) -> Result<(), String> {
        let mut at = onto.to_string();
        let mut seen = BTreeSet::new();
        loop {
            if self.ms_up.contains_key(&at) {
                return Ok(());
            }
            if Some(at.as_str()) == member {
                return Err(format!("{onto}, whose primary chain comes back to it"));
            }
            if !seen.insert(at.clone()) {
                return Err(format!("{onto}, whose primary chain loops at {at}"));
            }
            if self.retired.contains(&at) {
                return Err(format!(
                    "{onto}, whose primary chain runs into retired {at}"
                ));
            }
            match self.members.get(&(MemberKind::Gateway, at.clone())) {
                Some(g) => at = g.parents[0].clone(),
                None => return Err(format!("{onto}, whose primary chain ends at {at}")),
            }
        }
    }

    /// May a member be moved onto `s` right now (docs/spec.md rule 3 and 4)?
    fn ready(&self, s: &str) -> Result<(), String> {
        if let Some(up) = self.ms_up.get(s) {
            return if *up {
                Ok(())
            } else {
                Err(format!("{s} is down"))
            };
        }
        match self.gw_up_ready.get(s) {
            None => Err(format!("{s} is absent")),
            Some(false) => Err(format!("{s} is down or not ready")),
            Some(true) => {
                let g = &self.members[&(MemberKind::Gateway, s.to_string())];
                if g.connected.is_none() {
                    return Err(format!("{s} is not connected"));
                }
                if self.retired.contains(s) {
                    return Err(format!("{s} is retired"));
                }
                if self
                    .pending
                    .get(&(MemberKind::Gateway, s.to_string()))
                    .copied()
                    > Some(0)
                {
                    return Err(format!("{s} has not finished its own change"));
                }
                Ok(())
            }
        }
    }

    fn apply(&mut self, d: &Topology, s: &Step, store: &mut StoreWalk) -> Result<(), String> {
        if let Some(k) = member_of(s) {
            *self.pending.get_mut(&k).unwrap() -= 1;
        }
        match &s.action {
            Action::SetParents {
                kind,
                name,
                primary,
                failover,
                bridge,
            } => {
                let k = (*kind, key(name));
                let new: Vec<String> = std::iter::once(primary).chain(failover).map(key).collect();
                let uniq: BTreeSet<&String> = new.iter().collect();
                if uniq.len() != new.len() {
                    return Err(format!("step {}: repeats a parent", s.id));
                }
                let adds: Vec<String> = {
                    let m = self
                        .members
                        .get(&k)
                        .ok_or("set_parents on an unobserved member")?;
                    let mut adds: Vec<String> = new
                        .iter()
                        .filter(|x| !m.original.contains(x))
                        .cloned()
                        .collect();
                    if new[0] != m.original[0] {
                        adds.push(new[0].clone());
                    }
                    adds
                };
                let me = (*kind == MemberKind::Gateway).then(|| key(name));
                for a in &adds {
                    self.ready(a)
                        .map_err(|e| format!("step {}: moves {name} onto {e}", s.id))?;
                    if self.gw_up_ready.contains_key(a) {
                        self.chain(me.as_deref(), a)
                            .map_err(|e| format!("step {}: moves {name} onto {e}", s.id))?;
                    }
                }
                let m = self.members.get_mut(&k).unwrap();
                let desired = m
                    .desired
                    .clone()
                    .ok_or(format!("step {}: touches unmanaged {name}", s.id))?;
                // Rule 1: never drop a server it may be talking to.
                for t in &m.talking {
                    if !new.contains(t) {
                        return Err(format!(
                            "step {}: drops {t} which {name} may be talking to",
                            s.id
                        ));
                    }
                }
                if *bridge {
                    if new[..desired.len().min(new.len())] != desired[..] {
                        return Err(format!("step {}: bridge does not start with desired", s.id));
                    }
                    if let Some(x) = m.original.iter().find(|x| !new.contains(x)) {
                        return Err(format!("step {}: bridge drops old parent {x}", s.id));
                    }
                } else if new != desired {
                    return Err(format!(
                        "step {}: final parents are not the desired ones",
                        s.id
                    ));
                }
                m.parents = new.clone();
                if m.connected.is_some() {
                    m.talking.extend(new);
                }
            }
            Action::AwaitConnected { kind, name, server } => {
                let srv = key(server);
                self.ready(&srv)
                    .map_err(|e| format!("step {}: awaits {name} on {e}", s.id))?;
                if self.gw_up_ready.contains_key(&srv) {
                    let me = (*kind == MemberKind::Gateway).then(|| key(name));
                    self.chain(me.as_deref(), &srv)
                        .map_err(|e| format!("step {}: awaits {name} on {e}", s.id))?;
                }
                let m = self.members.get_mut(&(*kind, key(name))).unwrap();
                if !m.parents.contains(&srv) || m.desired.as_ref().map(|d| &d[0]) != Some(&srv) {
                    return Err(format!(
                        "step {}: awaits a server not its new primary",
                        s.id
                    ));
                }
                m.connected = Some(srv.clone());
                m.talking = BTreeSet::from([srv]);
            }
            Action::RetireGateway { name, .. } => {
                let g = key(name);
                if !d.policy.retire_gateways {
                    return Err("retires without policy.retireGateways".into());
                }
                if d.gateways.iter().any(|x| key(&x.name) == g) {
                    return Err(format!("retires desired gateway {g}"));
                }
                for ((kind, n), m) in &self.members {
                    if *kind == MemberKind::Gateway && self.retired.contains(n) {
                        continue;
                    }
                    if m.parents.contains(&g) || m.talking.contains(&g) {
                        return Err(format!("retires {g} while {n} lists or talks to it"));
                    }
                }
                self.retired.insert(g);
            }
            Action::AwaitReady { name, .. } => self.ready(&key(name))?,
            Action::AwaitReplication { .. } => store.replicated = true,
            Action::StoreFailover { mode, .. } => {
                if store.split {
                    return Err("store failover while the store is active in several pools".into());
                }
                match mode {
                    FailoverMode::Planned if !store.replicated => {
                        return Err("planned store failover before replication".into());
                    }
                    FailoverMode::Disaster => {
                        let dr = &d.management_store.as_ref().unwrap().disaster_recovery;
                        if !dr.allowed || dr.backup_sql_server.is_none() {
                            return Err("disaster failover not allowed".into());
                        }
                    }
                    _ => {}
                }
                store.failed_over = true;
            }
            Action::AwaitStoreActive { .. } => {
                if !store.failed_over {
                    return Err("await_store_active before the failover".into());
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct StoreWalk {
    replicated: bool,
    failed_over: bool,
    /// The observed store is active in more than one pool.
    split: bool,
}

/// A random order of the steps that respects `after`.
fn linear_order(p: &Plan, rng: &mut ChaCha8Rng) -> Result<Vec<usize>, String> {
    let ids: HashMap<u32, usize> = p.steps.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    if ids.len() != p.steps.len() {
        return Err("duplicate step ids".into());
    }
    let mut done = vec![false; p.steps.len()];
    let mut order = Vec::new();
    while order.len() < p.steps.len() {
        let mut avail = Vec::new();
        for (i, s) in p.steps.iter().enumerate() {
            if done[i] {
                continue;
            }
            let mut ok = true;
            for a in &s.after {
                match ids.get(a) {
                    None => return Err(format!("step {} waits for unknown {a}", s.id)),
                    Some(&j) => ok &= done[j],
                }
            }
            if ok {
                avail.push(i);
            }
        }
        if avail.is_empty() {
            return Err("`after` has a cycle".into());
        }
        let i = avail[rng.random_range(0..avail.len())];
        done[i] = true;
        order.push(i);
    }
    Ok(order)
}

/// Walks the plan; returns the order used. Fails on any broken rule.
fn check(d: &Topology, o: &Observed, p: &Plan, rng: &mut ChaCha8Rng) -> Result<Vec<usize>, String> {
    let order = linear_order(p, rng)?;
    let mut w = world(d, o, p);
    let mut store = StoreWalk {
        split: o
            .management_store
            .as_ref()
            .is_some_and(|s| s.active_pools().len() > 1),
        ..StoreWalk::default()
    };
    for &i in &order {
        w.apply(d, &p.steps[i], &mut store)?;
    }
    let blocked: BTreeSet<(BlockedKind, String)> =
        p.blocked.iter().map(|b| (b.kind, key(&b.name))).collect();
    for ((kind, name), m) in &w.members {
        let bk = match kind {
            MemberKind::Gateway => BlockedKind::Gateway,
            MemberKind::Agent => BlockedKind::Agent,
        };
        let touched = p
            .steps
            .iter()
            .any(|s| member_of(s) == Some((*kind, name.clone())));
        match &m.desired {
            None if touched => return Err(format!("unmanaged {name} touched")),
            None => {}
            Some(want) if blocked.contains(&(bk, name.clone())) => {
                if touched {
                    return Err(format!("blocked {name} has steps"));
                }
                if m.original == *want {
                    return Err(format!("converged {name} reported blocked"));
                }
            }
            Some(want) if m.parents != *want => {
                return Err(format!("{name} ends with {:?}, wants {want:?}", m.parents));
            }
            Some(_) => {}
        }
    }
    // A store active in several pools is blocked by its desired pool.
    if store.split
        && let Some(spec) = &d.management_store
        && !p
            .blocked
            .iter()
            .any(|b| b.kind == BlockedKind::Store && b.name == spec.pool)
    {
        return Err("a store active in several pools is not blocked".into());
    }
    // A blocked member's reason names a parent that really is not ready,
    // or (the chain reasons) whose chain, as it stands once the plan has
    // run, really comes back to the member, loops or leads nowhere.
    for b in &p.blocked {
        let me = (b.kind == BlockedKind::Gateway).then(|| key(&b.name));
        if let BlockReason::ParentChainLoop { parent, .. }
        | BlockReason::ParentChainBroken { parent, .. } = &b.reason
        {
            if w.chain(me.as_deref(), &key(parent)).is_ok() && !contingent(d, o, p, &b.reason) {
                return Err(format!(
                    "{} blocked on the chain of {parent}, which reaches a management server",
                    b.name
                ));
            }
            continue;
        }
        if let Some(parent) = b.reason.parent() {
            let wr = world(d, o, &Plan::new(vec![], vec![]));
            if wr.ready(&key(parent)).is_ok() {
                return Err(format!("{} blocked on {parent}, which is ready", b.name));
            }
        }
    }
    let unmanaged = o
        .agents
        .iter()
        .filter(|a| !d.agents.iter().any(|x| x.name == a.name))
        .count() as u64;
    if p.summary.unmanaged != unmanaged {
        return Err("unmanaged count".into());
    }
    if p.summary.changes != p.steps.len() as u64 || p.summary.blocked != p.blocked.len() as u64 {
        return Err("summary counts".into());
    }
    Ok(order)
}

/// The observed state after running `steps` (the executor's view of the
/// world catching up with them).
fn after_steps(o: &Observed, steps: &[&Step]) -> Observed {
    let mut o = o.clone();
    for s in steps {
        match &s.action {
            Action::SetParents {
                kind,
                name,
                primary,
                failover,
                ..
            } => {
                let m = member_mut(&mut o, *kind, name);
                m.parents = Parents {
                    primary: primary.clone(),
                    failover: failover.clone(),
                };
            }
            Action::AwaitConnected { kind, name, server } => {
                member_mut(&mut o, *kind, name).connected = Some(server.clone());
            }
            Action::RetireGateway { name, .. } => o.gateways.retain(|g| &g.name != name),
            Action::StoreFailover { pool, .. } => {
                let st = o.management_store.as_mut().unwrap();
                st.active_pool = Some(pool.clone());
            }
            _ => {}
        }
    }
    o
}

fn member_mut<'a>(o: &'a mut Observed, kind: MemberKind, name: &Name) -> &'a mut ObservedMember {
    let l = match kind {
        MemberKind::Gateway => &mut o.gateways,
        MemberKind::Agent => &mut o.agents,
    };
    l.iter_mut().find(|m| &m.name == name).unwrap()
}

fn is_store(s: &Step) -> bool {
    matches!(
        s.action,
        Action::AwaitReplication { .. }
            | Action::StoreFailover { .. }
            | Action::AwaitStoreActive { .. }
    )
}

/// The member and retirement steps as (action, actions it waits for),
/// sorted, so two plans can be compared regardless of numbering.
fn shape(steps: &[&Step], done: &BTreeSet<u32>) -> Vec<(String, Vec<String>)> {
    let action: HashMap<u32, String> = steps
        .iter()
        .map(|s| (s.id, serde_json::to_string(&s.action).unwrap()))
        .collect();
    let mut v: Vec<(String, Vec<String>)> = steps
        .iter()
        .map(|s| {
            let mut after: Vec<String> = s
                .after
                .iter()
                .filter(|a| !done.contains(a))
                .map(|a| action[a].clone())
                .collect();
            after.sort();
            (action[&s.id].clone(), after)
        })
        .collect();
    v.sort();
    v
}

proptest! {
    #[test]
    fn every_plan_keeps_the_safety_rules(seed in any::<u64>(), walk in any::<u64>()) {
        let (d, o) = estate(seed);
        let p = plan(&d, &o);
        let mut rng = ChaCha8Rng::seed_from_u64(walk);
        if let Err(e) = check(&d, &o, &p, &mut rng) {
            panic!("{e}\ndesired: {d:#?}\nobserved: {o:#?}\nplan: {}", serde_json::to_string_pretty(&p).unwrap());
        }
    }

    #[test]
    fn the_plan_is_deterministic_and_independent_of_observed_order(seed in any::<u64>()) {
        let (d, o) = estate(seed);
        let a = serde_json::to_string(&plan(&d, &o)).unwrap();
        prop_assert_eq!(&a, &serde_json::to_string(&plan(&d, &o)).unwrap());
        let mut r = o.clone();
        r.agents.reverse();
        r.gateways.reverse();
        r.management_servers.reverse();
        prop_assert_eq!(&a, &serde_json::to_string(&plan(&d, &r)).unwrap());
    }

    #[test]
    fn replanning_after_any_prefix_gives_the_rest(seed in any::<u64>(), walk in any::<u64>(), cut in 0.0..=1.0f64) {
        let (d, o) = estate(seed);
        let p = plan(&d, &o);
        let mut rng = ChaCha8Rng::seed_from_u64(walk);
        let order = linear_order(&p, &mut rng).unwrap();
        let k = ((order.len() as f64) * cut).round() as usize;
        let prefix: Vec<&Step> = order[..k].iter().map(|&i| &p.steps[i]).collect();
        let done: BTreeSet<u32> = prefix.iter().map(|s| s.id).collect();
        let o2 = after_steps(&o, &prefix);
        let p2 = plan(&d, &o2);
        let rest: Vec<&Step> = p.steps.iter().filter(|s| !done.contains(&s.id) && !is_store(s)).collect();
        let again: Vec<&Step> = p2.steps.iter().filter(|s| !is_store(s)).collect();
        prop_assert_eq!(shape(&rest, &done), shape(&again, &BTreeSet::new()));
        let nonstore = |p: &Plan| p.blocked.iter().filter(|b| b.kind != BlockedKind::Store).cloned().collect::<Vec<_>>();
        prop_assert_eq!(nonstore(&p), nonstore(&p2));
        if k == order.len() {
            // Everything ran: only what was blocked is left.
            prop_assert!(p2.steps.is_empty(), "{:?}", p2.steps);
        }
    }

    #[test]
    fn a_converged_state_plans_empty(seed in any::<u64>()) {
        let (mut d, mut o) = estate(seed);
        // Keep only desired members whose parents are defined (valid).
        loop {
            let defined: Vec<Name> = d.management_servers.iter().map(|m| m.name.clone())
                .chain(d.gateways.iter().map(|g| g.name.clone())).collect();
            let before = d.gateways.len();
            d.gateways.retain(|g| g.parents.iter().all(|p| defined.contains(p)));
            d.agents.retain(|a| a.parents.iter().all(|p| defined.contains(p)));
            if d.gateways.len() == before { break; }
        }
        // Make observed equal desired, every server healthy.
        for m in &mut o.management_servers { m.up = true; }
        for g in &mut o.gateways { g.up = true; g.ready = true; }
        let want: HashMap<(MemberKind, Name), Parents> = d.gateways.iter().map(|g| ((MemberKind::Gateway, g.name.clone()), g.parents.clone()))
            .chain(d.agents.iter().map(|a| ((MemberKind::Agent, a.name.clone()), a.parents.clone()))).collect();
        for (kind, l) in [(MemberKind::Gateway, &mut o.gateways), (MemberKind::Agent, &mut o.agents)] {
            for m in l.iter_mut() {
                if let Some(p) = want.get(&(kind, m.name.clone())) {
                    m.parents = p.clone();
                    m.connected = Some(p.primary.clone());
                }
            }
        }
        for g in &d.gateways {
            if !o.gateways.iter().any(|x| x.name == g.name) {
                o.gateways.push(ObservedMember { name: g.name.clone(), parents: g.parents.clone(), connected: Some(g.parents.primary.clone()), up: true, ready: true, evidence: None });
            }
        }
        for a in &d.agents {
            if !o.agents.iter().any(|x| x.name == a.name) {
                o.agents.push(ObservedMember { name: a.name.clone(), parents: a.parents.clone(), connected: Some(a.parents.primary.clone()), up: true, ready: true, evidence: None });
            }
        }
        let desired_gw: Vec<Name> = d.gateways.iter().map(|g| g.name.clone()).collect();
        o.gateways.retain(|g| desired_gw.contains(&g.name));
        if let (Some(s), Some(st)) = (&d.management_store, &mut o.management_store) {
            st.active_pool = Some(s.pool.clone());
            for p in &mut st.pools { p.up = true; p.active = false; }
        }
        let p = plan(&d, &o);
        prop_assert!(p.is_empty(), "{}", serde_json::to_string_pretty(&p).unwrap());
    }
}
