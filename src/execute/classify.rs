//! How far an observed estate is from the desired topology: the SPEC
//! section 5 meaning of *converged*, evaluated on one observation.
//!
//! Pure: no I/O. Stranded, pending and blocked members come from elsewhere
//! (the target, the executor, the plan); [`converge`](super::converge)
//! combines them with this verdict.

use crate::assign;
use crate::model::{MemberKind, Observed, Parents, Topology};
use crate::name::Name;
use crate::plan::fasthash::{FastMap as HashMap, FastSet as HashSet};

/// What one observation says about convergence.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// Managed members whose configured parents differ from the desired
    /// ones (in a bridge or not), sorted.
    pub parents_differ: Vec<Name>,
    /// Managed members that are connected to a server other than their
    /// desired primary although that primary is up (and ready), sorted.
    pub not_on_primary: Vec<Name>,
    /// Managed members whose configured parents are a bridge of their
    /// desired parents (desired primary and failovers, then extra
    /// failovers), sorted.
    pub in_bridge: Vec<Name>,
    /// False when the store is managed and not active in its desired pool
    /// alone (active in two pools is never converged).
    pub store_ok: bool,
}

impl Verdict {
    /// Every managed member has exactly its desired parents and talks to its
    /// desired primary where it can, and the store is where it should be.
    pub fn converged(&self) -> bool {
        self.parents_differ.is_empty() && self.not_on_primary.is_empty() && self.store_ok
    }
}

/// The desired parents of every managed member that the observation
/// reports: the topology's gateways, then its agents (explicit entries and
/// rules). If a rule's glob does not compile (validation reports that
/// first), only explicit agents are managed.
pub(crate) fn desired_parents(
    desired: &Topology,
    observed: &Observed,
) -> HashMap<(MemberKind, Name), Parents> {
    let mut map = HashMap::default();
    for g in &desired.gateways {
        map.insert((MemberKind::Gateway, g.name.clone()), g.parents.clone());
    }
    // Lenient like the planner: the verdict judges the agents the plan
    // managed, even when a spread rule is over capacity.
    match assign::resolve_lenient(desired, observed) {
        Ok((a, _over_capacity)) => {
            for a in a.agents {
                map.insert((MemberKind::Agent, a.name), a.parents);
            }
        }
        Err(_) => {
            for a in &desired.agents {
                map.insert((MemberKind::Agent, a.name.clone()), a.parents.clone());
            }
        }
    }
    map
}

/// True when `configured` is a bridge towards `desired`: the desired
/// primary, the desired failovers in order, then at least one extra
/// failover (an old parent kept until the member has moved).
pub fn is_bridge_of(desired: &Parents, configured: &Parents) -> bool {
    configured.primary == desired.primary
        && configured.failover.len() > desired.failover.len()
        && configured.failover.starts_with(&desired.failover)
}

/// Evaluates one observation against the desired topology.
///
/// A member counts as talking to the wrong server only when it is connected
/// somewhere: a disconnected agent may be offline, which the observation
/// cannot tell from stranded (the target reports stranded members itself).
/// A gateway that is down is not expected to be connected.
pub fn classify(desired: &Topology, observed: &Observed) -> Verdict {
    let want = desired_parents(desired, observed);
    let mut available: HashSet<&Name> = observed
        .management_servers
        .iter()
        .filter(|s| s.up)
        .map(|s| &s.name)
        .collect();
    available.extend(
        observed
            .gateways
            .iter()
            .filter(|g| g.up && g.ready)
            .map(|g| &g.name),
    );
    let mut v = Verdict {
        store_ok: true,
        ..Verdict::default()
    };
    for (kind, list) in [
        (MemberKind::Gateway, &observed.gateways),
        (MemberKind::Agent, &observed.agents),
    ] {
        for m in list {
            let Some(d) = want.get(&(kind, m.name.clone())) else {
                continue;
            };
            if &m.parents != d {
                v.parents_differ.push(m.name.clone());
                if is_bridge_of(d, &m.parents) {
                    v.in_bridge.push(m.name.clone());
                }
            }
            if m.up
                && let Some(c) = &m.connected
                && c != &d.primary
                && available.contains(&d.primary)
            {
                v.not_on_primary.push(m.name.clone());
            }
        }
    }
    if let Some(spec) = &desired.management_store {
        v.store_ok = observed
            .management_store
            .as_ref()
            .is_some_and(|s| s.active_only_in(&spec.pool));
    }
    v.parents_differ.sort();
    v.not_on_primary.sort();
    v.in_bridge.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::{MemberDef, ObservedMember, ObservedServer};

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn p(primary: &str, failover: &[&str]) -> Parents {
        Parents {
            primary: n(primary),
            failover: failover.iter().map(|s| n(s)).collect(),
        }
    }

    fn setup(configured: Parents, connected: Option<&str>) -> (Topology, Observed) {
        let t = Topology {
            agents: vec![MemberDef {
                name: n("web01"),
                parents: p("gw2", &[]),
                pos: Pos::default(),
                primary_pos: Pos::default(),
                failover_pos: vec![],
            }],
            ..Default::default()
        };
        let mut o = Observed::new();
        o.management_servers.push(ObservedServer {
            name: n("ms1"),
            up: true,
        });
        for g in ["gw1", "gw2"] {
            o.gateways.push(ObservedMember {
                name: n(g),
                parents: p("ms1", &[]),
                connected: Some(n("ms1")),
                up: true,
                ready: true,
            });
        }
        o.agents.push(ObservedMember {
            name: n("web01"),
            parents: configured,
            connected: connected.map(n),
            up: true,
            ready: true,
        });
        (t, o)
    }

    #[test]
    fn bridge_is_recognised_and_not_converged() {
        let (t, o) = setup(p("gw2", &["gw1"]), Some("gw1"));
        let v = classify(&t, &o);
        assert_eq!(v.in_bridge, vec![n("web01")]);
        assert_eq!(v.not_on_primary, vec![n("web01")]);
        assert!(!v.converged());
    }

    #[test]
    fn exact_parents_and_on_primary_is_converged() {
        let (t, o) = setup(p("gw2", &[]), Some("gw2"));
        assert!(classify(&t, &o).converged());
        // Offline (disconnected) members are not held against convergence.
        let (t, o) = setup(p("gw2", &[]), None);
        assert!(classify(&t, &o).converged());
    }

    #[test]
    fn connected_elsewhere_is_fine_while_the_primary_is_down() {
        let (t, mut o) = setup(p("gw2", &["gw1"]), Some("gw1"));
        o.agents[0].parents = p("gw2", &[]);
        o.gateways[1].up = false;
        assert!(classify(&t, &o).converged());
    }

    #[test]
    fn a_store_active_in_two_pools_is_never_converged() {
        use crate::model::{ObservedPool, ObservedStore, StoreSpec};
        let (mut t, mut o) = setup(p("gw2", &[]), Some("gw2"));
        t.management_store = Some(StoreSpec {
            pool: n("pool2"),
            pos: Pos::default(),
            disaster_recovery: Default::default(),
            restore: false,
        });
        let pool = |name: &str, active: bool| ObservedPool {
            name: n(name),
            up: true,
            active,
        };
        o.management_store = Some(ObservedStore {
            active_pool: Some(n("pool2")),
            pools: vec![pool("pool1", false), pool("pool2", false)],
            replication_complete: true,
        });
        assert!(classify(&t, &o).converged());
        o.management_store.as_mut().unwrap().pools[0].active = true;
        assert!(!classify(&t, &o).store_ok);
        assert!(!classify(&t, &o).converged());
    }

    #[test]
    fn bridge_shape() {
        assert!(is_bridge_of(&p("a", &["b"]), &p("a", &["b", "c"])));
        assert!(!is_bridge_of(&p("a", &["b"]), &p("a", &["c", "b"])));
        assert!(!is_bridge_of(&p("a", &[]), &p("x", &["a"])));
        assert!(!is_bridge_of(&p("a", &[]), &p("a", &[])));
    }
}
