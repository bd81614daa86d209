//! A deterministic fake target for executor tests: a tiny model of the
//! hazard in virtual time. Members connect to their new primary a fixed
//! delay after a `set_parents`; a write that drops the server a member is
//! connected to strands it. Members can be told never to acknowledge, to
//! fail transiently k times, or to fail permanently. The fake keeps its own
//! records (bridged set, violations, calls) so tests assert from them, not
//! from the executor's report.

#![allow(dead_code)]

use handover::execute::{Inspect, Schedule};
use handover::model::{
    MemberDef, MemberKind, Observed, ObservedMember, ObservedPool, ObservedServer, ObservedStore,
    Parents, Topology,
};
use handover::name::Name;
use handover::plan::{Action, Plan, Step};
use handover::provider::{Clock, Operation, Provider, ProviderError, Scope};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

pub fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

pub fn p(primary: &str, failover: &[&str]) -> Parents {
    Parents {
        primary: n(primary),
        failover: failover.iter().map(|s| n(s)).collect(),
    }
}

#[derive(Clone, Debug)]
pub struct Member {
    pub kind: MemberKind,
    pub parents: Parents,
    pub connected: Option<Name>,
    pub connect_at: Option<(Duration, Name)>,
    pub up: bool,
    pub ready: bool,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// The member comes online (and will connect to its primary).
    Online(Name),
    /// The gateway becomes ready.
    Ready(Name),
    /// Store replication completes.
    Replicated,
}

#[derive(Debug, Default)]
pub struct Fake {
    pub now: Duration,
    pub ack_delay: Duration,
    pub servers: BTreeMap<Name, bool>,
    pub members: BTreeMap<Name, Member>,
    /// Gateway names (also in `members`), for cheap scoped snapshots.
    pub gateways: Vec<Name>,
    pub store: Option<ObservedStore>,
    pub store_delay: Duration,
    pub store_switch_at: Option<(Duration, Name)>,
    pub never_ack: HashSet<Name>,
    pub offline: HashSet<Name>,
    pub transient: HashMap<Name, u32>,
    pub permanent: HashSet<Name>,
    pub scheduled: Vec<(Duration, Event)>,
    // Records.
    pub applied: Vec<(Duration, Operation)>,
    pub apply_calls: u64,
    pub scopes: Vec<Scope>,
    pub bridged: BTreeSet<Name>,
    pub max_bridged: usize,
    pub stranded: BTreeSet<Name>,
    pub violations: Vec<String>,
}

impl Fake {
    /// Management servers ms1, ms2; gateways gw1, gw2 (on ms1, connected);
    /// `agents` agents a00.. on gw1, connected. Ack delay 45 s.
    pub fn estate(agents: usize) -> Fake {
        let mut f = Fake {
            ack_delay: Duration::from_secs(45),
            store_delay: Duration::from_secs(60),
            ..Fake::default()
        };
        f.servers.insert(n("ms1"), true);
        f.servers.insert(n("ms2"), true);
        for g in ["gw1", "gw2"] {
            f.gateways.push(n(g));
            f.members.insert(
                n(g),
                Member {
                    kind: MemberKind::Gateway,
                    parents: p("ms1", &[]),
                    connected: Some(n("ms1")),
                    connect_at: None,
                    up: true,
                    ready: true,
                },
            );
        }
        for i in 0..agents {
            f.members.insert(
                agent(i),
                Member {
                    kind: MemberKind::Agent,
                    parents: p("gw1", &[]),
                    connected: Some(n("gw1")),
                    connect_at: None,
                    up: true,
                    ready: true,
                },
            );
        }
        f
    }

    pub fn observed(&self) -> Observed {
        self.snapshot(&Scope::All)
    }

    fn snapshot(&self, scope: &Scope) -> Observed {
        let mut o = Observed::new();
        for (name, up) in &self.servers {
            o.management_servers.push(ObservedServer {
                name: name.clone(),
                up: *up,
            });
        }
        let view = |name: &Name, m: &Member| ObservedMember {
            name: name.clone(),
            parents: m.parents.clone(),
            connected: m.connected.clone(),
            up: m.up,
            ready: m.ready,
            evidence: None,
        };
        for name in &self.gateways {
            o.gateways.push(view(name, &self.members[name]));
        }
        match scope {
            Scope::All => {
                for (name, m) in &self.members {
                    if m.kind == MemberKind::Agent {
                        o.agents.push(view(name, m));
                    }
                }
            }
            Scope::Members(names) => {
                for name in names {
                    if let Some(m) = self.members.get(name)
                        && m.kind == MemberKind::Agent
                    {
                        o.agents.push(view(name, m));
                    }
                }
            }
        }
        o.management_store = self.store.clone();
        o
    }

    fn accepts(&self, server: &Name) -> bool {
        if let Some(up) = self.servers.get(server) {
            return *up;
        }
        self.members
            .get(server)
            .is_some_and(|g| g.up && g.ready && g.connected.is_some())
    }

    fn advance(&mut self) {
        let now = self.now;
        let due: Vec<Event> = {
            let (due, later): (Vec<_>, Vec<_>) =
                self.scheduled.drain(..).partition(|(t, _)| *t <= now);
            self.scheduled = later;
            due.into_iter().map(|(_, e)| e).collect()
        };
        for e in due {
            match e {
                Event::Online(name) => {
                    self.offline.remove(&name);
                    let delay = self.ack_delay;
                    if let Some(m) = self.members.get_mut(&name)
                        && !self.stranded.contains(&name)
                    {
                        m.connect_at = Some((now + delay, m.parents.primary.clone()));
                    }
                }
                Event::Ready(name) => {
                    if let Some(m) = self.members.get_mut(&name) {
                        m.ready = true;
                    }
                }
                Event::Replicated => {
                    if let Some(s) = self.store.as_mut() {
                        s.replication_complete = true;
                    }
                }
            }
        }
        let due: Vec<(Name, Name)> = self
            .members
            .iter()
            .filter(|(_, m)| m.connect_at.is_some())
            .filter_map(|(name, m)| match &m.connect_at {
                Some((at, server)) if *at <= now => Some((name.clone(), server.clone())),
                _ => None,
            })
            .collect();
        for (name, server) in due {
            let ok = self.members[&name].parents.lists(&server) && self.accepts(&server);
            let m = self.members.get_mut(&name).unwrap();
            m.connect_at = None;
            if ok {
                m.connected = Some(server);
            }
        }
        if let Some((at, pool)) = self.store_switch_at.clone()
            && at <= now
        {
            self.store_switch_at = None;
            if let Some(s) = self.store.as_mut() {
                s.active_pool = Some(pool);
            }
        }
    }

    fn set_parents(&mut self, name: &Name, parents: &Parents) -> Result<(), ProviderError> {
        if self.permanent.contains(name) {
            return Err(ProviderError::Permanent(format!("access denied on {name}")));
        }
        if let Some(k) = self.transient.get_mut(name)
            && *k > 0
        {
            *k -= 1;
            return Err(ProviderError::Transient("SDK service busy".into()));
        }
        let now = self.now;
        let delay = self.ack_delay;
        let never = self.never_ack.contains(name) || self.offline.contains(name);
        let Some(m) = self.members.get_mut(name) else {
            return Err(ProviderError::Permanent(format!("{name} is unknown")));
        };
        match &m.connected {
            Some(c) if !parents.lists(c) => {
                self.violations.push(format!(
                    "{name} dropped by {c} before it learned its new parent"
                ));
                self.stranded.insert(name.clone());
                m.connected = None;
                m.connect_at = None;
            }
            None => {
                if let Some(old) = m.parents.iter().find(|s| !parents.lists(s)) {
                    self.violations
                        .push(format!("{name} (disconnected) lost {old} from its parents"));
                }
            }
            _ => {}
        }
        m.parents = parents.clone();
        if !self.stranded.contains(name) && !never && m.connected.as_ref() != Some(&parents.primary)
        {
            m.connect_at = Some((now + delay, parents.primary.clone()));
        }
        if parents.failover.is_empty() {
            self.bridged.remove(name);
        } else {
            self.bridged.insert(name.clone());
            self.max_bridged = self.max_bridged.max(self.bridged.len());
        }
        Ok(())
    }
}

impl Provider for Fake {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.scopes.push(scope.clone());
        Ok(self.snapshot(scope))
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.apply_calls += 1;
        match op {
            Operation::SetParents { name, parents, .. } => self.set_parents(name, parents)?,
            Operation::RetireGateway { name } => {
                self.members.remove(name);
            }
            Operation::StoreFailover { pool, .. } => {
                self.store_switch_at = Some((self.now + self.store_delay, pool.clone()));
            }
        }
        self.applied.push((self.now, op.clone()));
        Ok(())
    }
}

impl Clock for Fake {
    fn now(&self) -> Duration {
        self.now
    }

    async fn sleep(&mut self, d: Duration) {
        // Advance in small ticks so events fire in order.
        let end = self.now + d;
        while self.now < end {
            let step = (end - self.now).min(Duration::from_secs(5));
            self.now += step;
            self.advance();
        }
    }
}

impl Schedule for Fake {
    fn next_scheduled(&self) -> Option<Duration> {
        self.scheduled.iter().map(|(t, _)| *t).min()
    }
}

impl Inspect for Fake {
    fn stranded(&self) -> Vec<Name> {
        self.stranded.iter().cloned().collect()
    }
}

pub fn agent(i: usize) -> Name {
    n(&format!("a{i:02}"))
}

/// A desired topology: every listed agent on `primary`, no failovers.
pub fn desired(agents: &[Name], primary: &str) -> Topology {
    Topology {
        management_servers: vec![],
        agents: agents
            .iter()
            .map(|a| MemberDef {
                name: a.clone(),
                parents: p(primary, &[]),
                pos: Default::default(),
                primary_pos: Default::default(),
                failover_pos: vec![],
            })
            .collect(),
        ..Default::default()
    }
}

/// Builds plans by hand, step by step.
#[derive(Default)]
pub struct PlanBuilder {
    pub steps: Vec<Step>,
}

impl PlanBuilder {
    pub fn push(&mut self, action: Action, after: &[u32]) -> u32 {
        let id = self.steps.len() as u32 + 1;
        self.steps.push(Step {
            id,
            action,
            after: after.to_vec(),
        });
        id
    }

    /// bridge (new primary, old as failover) → await → prune, for an agent.
    pub fn mbb(&mut self, name: &Name, old: &str, new: &str, after: &[u32]) -> u32 {
        let b = self.push(set(name, new, &[old], true), after);
        let w = self.push(await_on(name, new), &[b]);
        self.push(set(name, new, &[], false), &[w])
    }

    pub fn build(self) -> Plan {
        Plan::new(self.steps, vec![])
    }
}

pub fn set(name: &Name, primary: &str, failover: &[&str], bridge: bool) -> Action {
    Action::SetParents {
        kind: MemberKind::Agent,
        name: name.clone(),
        primary: n(primary),
        failover: failover.iter().map(|s| n(s)).collect(),
        bridge,
    }
}

pub fn await_on(name: &Name, server: &str) -> Action {
    Action::AwaitConnected {
        kind: MemberKind::Agent,
        name: name.clone(),
        server: n(server),
    }
}

/// A minimal make-before-break planner for converge tests (the real one
/// lives elsewhere): for each explicit desired agent whose parents differ,
/// bridge → await → prune, or await → prune when already bridged.
pub fn mini_planner(desired: &Topology, observed: &Observed) -> Plan {
    let mut b = PlanBuilder::default();
    for d in &desired.agents {
        let Some(m) = observed.agents.iter().find(|m| m.name == d.name) else {
            continue;
        };
        if m.parents == d.parents {
            continue;
        }
        let new = d.parents.primary.to_string();
        if handover::execute::is_bridge_of(&d.parents, &m.parents) {
            let w = b.push(await_on(&d.name, &new), &[]);
            b.push(set(&d.name, &new, &[], false), &[w]);
        } else {
            let old: Vec<String> = m.parents.iter().map(|s| s.to_string()).collect();
            let old: Vec<&str> = old.iter().map(|s| s.as_str()).collect();
            let bid = b.push(set(&d.name, &new, &old, true), &[]);
            let w = b.push(await_on(&d.name, &new), &[bid]);
            b.push(set(&d.name, &new, &[], false), &[w]);
        }
    }
    b.build()
}

pub fn pool(name: &str, up: bool) -> ObservedPool {
    ObservedPool {
        name: n(name),
        up,
        active: false,
    }
}
