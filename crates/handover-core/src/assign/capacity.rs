//! Capacity and readiness of parents, and the load table of a plan.
//!
//! Owns how many members a parent may have (`policy.capacity`: agents per
//! gateway; agents plus gateways per management server), which parents are
//! ready for new members (from the observed state), and [`loads`]: each
//! parent's count of members before and after an assignment. Pure; must not
//! choose parents (that is `spread`) or render anything (that is `table`).

use super::outcome::Assignment;
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
pub use crate::model::ServerKind;
use crate::model::{Observed, Topology};
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// One parent's number of members whose primary it is, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Load {
    /// The parent.
    pub server: Name,
    /// Management server or gateway.
    pub kind: ServerKind,
    /// Members whose observed primary it is (agents; plus gateways for a
    /// management server).
    pub before: u32,
    /// Members whose desired primary it is: managed agents, unmanaged agents
    /// that stay, and (for a management server) desired gateways and
    /// gateways absent from the topology that the plan leaves in place.
    pub after: u32,
    /// `policy.capacity` for its kind.
    pub capacity: u32,
}

/// Parents per kind and capacity lookups, built once per resolve.
pub(crate) struct Servers {
    management: HashSet<Name>,
    not_ready: HashSet<Name>,
    ready: HashSet<Name>,
    /// `policy.capacity.gateway`.
    pub gateway_cap: u32,
    /// `policy.capacity.managementServer`.
    pub management_cap: u32,
}

impl Servers {
    pub(crate) fn new(t: &Topology, o: &Observed) -> Self {
        let mut management: HashSet<Name> = t
            .management_servers
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let mut ready = HashSet::default();
        let mut not_ready = HashSet::default();
        for m in &o.management_servers {
            management.insert(m.name.clone());
            if m.up {
                ready.insert(m.name.clone());
            } else {
                not_ready.insert(m.name.clone());
            }
        }
        for g in &o.gateways {
            if g.up && g.ready {
                ready.insert(g.name.clone());
            } else {
                not_ready.insert(g.name.clone());
            }
        }
        Servers {
            management,
            ready,
            not_ready,
            gateway_cap: t.policy.capacity.gateway,
            management_cap: t.policy.capacity.management_server,
        }
    }

    /// True for a management server (of the topology or the observed state).
    pub(crate) fn is_management(&self, s: &Name) -> bool {
        self.management.contains(s)
    }

    /// The capacity for `s`'s kind.
    pub(crate) fn capacity(&self, s: &Name) -> u32 {
        if self.is_management(s) {
            self.management_cap
        } else {
            self.gateway_cap
        }
    }

    /// Observed up (and, for a gateway, ready). Absent servers are not ready.
    pub(crate) fn is_ready(&self, s: &Name) -> bool {
        self.ready.contains(s) && !self.not_ready.contains(s)
    }
}

/// Adds the desired gateways whose primary is a management server (they
/// count against `capacity.managementServer`).
pub(crate) fn add_gateways(load: &mut HashMap<Name, u32>, servers: &Servers, t: &Topology) {
    for g in &t.gateways {
        if servers.is_management(&g.parents.primary) {
            *load.entry(g.parents.primary.clone()).or_default() += 1;
        }
    }
}

/// Each parent's load before and after `a`, in a stable order: management
/// servers, then gateways, each in topology order, then parents only the
/// observed state or the assignment mentions, by name. Observed gateways
/// absent from the topology stay on their management server unless
/// `policy.retireGateways` is set; a plan that knows which it retires
/// uses [`loads_keeping`].
pub fn loads(t: &Topology, o: &Observed, a: &Assignment) -> Vec<Load> {
    let desired: HashSet<&Name> = t.gateways.iter().map(|g| &g.name).collect();
    let kept: HashSet<&Name> = if t.policy.retire_gateways {
        HashSet::default()
    } else {
        o.gateways
            .iter()
            .map(|g| &g.name)
            .filter(|n| !desired.contains(n))
            .collect()
    };
    loads_keeping(t, o, a, &kept)
}

/// [`loads`], where `kept` names the observed gateways absent from the
/// topology that stay where they are (not retired: `retireGateways` is off,
/// or their retirement is blocked); they count on their observed
/// management server after, as before.
pub fn loads_keeping(
    t: &Topology,
    o: &Observed,
    a: &Assignment,
    kept: &HashSet<&Name>,
) -> Vec<Load> {
    let servers = Servers::new(t, o);
    let mut before: HashMap<Name, u32> = HashMap::default();
    for m in &o.agents {
        *before.entry(m.parents.primary.clone()).or_default() += 1;
    }
    for g in &o.gateways {
        if servers.is_management(&g.parents.primary) {
            *before.entry(g.parents.primary.clone()).or_default() += 1;
        }
    }
    let mut after: HashMap<Name, u32> = HashMap::default();
    add_gateways(&mut after, &servers, t);
    for g in &o.gateways {
        if kept.contains(&g.name) && servers.is_management(&g.parents.primary) {
            *after.entry(g.parents.primary.clone()).or_default() += 1;
        }
    }
    for m in &a.agents {
        *after.entry(m.parents.primary.clone()).or_default() += 1;
    }
    let unmanaged: HashSet<&Name> = a.unmanaged.iter().collect();
    for m in &o.agents {
        if unmanaged.contains(&m.name) {
            *after.entry(m.parents.primary.clone()).or_default() += 1;
        }
    }

    let mut order: Vec<Name> = Vec::new();
    let mut seen: HashSet<Name> = HashSet::default();
    for s in t
        .management_servers
        .iter()
        .map(|m| &m.name)
        .chain(t.gateways.iter().map(|g| &g.name))
    {
        if seen.insert(s.clone()) {
            order.push(s.clone());
        }
    }
    let mut extra: Vec<Name> = o
        .management_servers
        .iter()
        .map(|m| &m.name)
        .chain(o.gateways.iter().map(|g| &g.name))
        .chain(before.keys())
        .chain(after.keys())
        .filter(|s| !seen.contains(*s))
        .cloned()
        .collect::<HashSet<Name>>()
        .into_iter()
        .collect();
    extra.sort();
    order.extend(extra);
    order
        .into_iter()
        .map(|server| {
            let kind = if servers.is_management(&server) {
                ServerKind::ManagementServer
            } else {
                ServerKind::Gateway
            };
            Load {
                before: before.get(&server).copied().unwrap_or(0),
                after: after.get(&server).copied().unwrap_or(0),
                capacity: servers.capacity(&server),
                kind,
                server,
            }
        })
        .collect()
}
