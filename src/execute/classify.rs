//! How far an observed estate is from the desired topology: the docs/spec.md
//! section 5 meaning of *converged*, evaluated on one observation.
//!
//! Also the executor's own re-check before a write that removes parents
//! ([`removal_hazard`]): defence in depth, independent of the planner.
//!
//! Pure: no I/O. Stranded, pending and blocked members come from elsewhere
//! (the target, the executor, the plan); [`converge`](super::converge)
//! combines them with this verdict.

use crate::assign;
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{MemberKind, Observed, Parents, Topology};
use crate::name::Name;

/// What one observation says about convergence.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Classification {
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

impl Classification {
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

pub use crate::plan::bridge::is_bridge_of;

/// Evaluates one observation against the desired topology.
///
/// A member counts as talking to the wrong server only when it is connected
/// somewhere: a disconnected agent may be offline, which the observation
/// cannot tell from stranded (the target reports stranded members itself).
/// A gateway that is down is not expected to be connected.
pub fn classify(desired: &Topology, observed: &Observed) -> Classification {
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
    let mut v = Classification {
        store_ok: true,
        ..Classification::default()
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

/// Why the executor will not send a write that removes parents: the
/// member may still be talking to a server the write removes (docs/spec.md rule 1).
/// The executor's own re-check, independent of the planner.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemovalHazard {
    /// The latest observation does not report the member at all.
    #[error(
        "not sent: {name} is not in the latest observation, so nobody can tell whether it still talks to a server this change removes; it stays as it is (pending): observe and plan again"
    )]
    NotObserved {
        /// The member.
        name: Name,
    },
    /// The member is connected to a server the write removes, and not to
    /// its new primary.
    #[error(
        "not sent: {name} is connected to {server}, which this change removes, and not yet to its new primary {primary}; it stays as it is (pending): wait until it has connected to {primary}, then plan again"
    )]
    ConnectedToRemoved {
        /// The member.
        name: Name,
        /// Where it is connected.
        server: Name,
        /// Its new primary.
        primary: Name,
    },
    /// The member is disconnected, so it may be retrying any parent it
    /// had, and the write removes some of them.
    #[error(
        "not sent: {name} is disconnected, so it may still be calling {}, which this change removes; it stays as it is (pending): wait until it has connected to its new primary {primary}, then plan again",
        removed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    )]
    Disconnected {
        /// The member.
        name: Name,
        /// The servers the write removes.
        removed: Vec<Name>,
        /// Its new primary.
        primary: Name,
    },
}

/// Checks a write of `new` parents against the latest observation of the
/// member (`None`: not observed). Safe when the write removes nothing, when
/// the member is connected to its new primary, or when it is connected to
/// a server the write keeps. Otherwise the hazard, and the write must not
/// be sent. Pure.
pub fn removal_hazard(
    name: &Name,
    latest: Option<(&Parents, Option<&Name>)>,
    new: &Parents,
) -> Option<RemovalHazard> {
    let Some((configured, connected)) = latest else {
        return Some(RemovalHazard::NotObserved { name: name.clone() });
    };
    let removed: Vec<Name> = configured
        .iter()
        .filter(|s| !new.lists(s))
        .cloned()
        .collect();
    if removed.is_empty() {
        return None;
    }
    match connected {
        Some(c) if c == &new.primary || !removed.contains(c) => None,
        Some(c) => Some(RemovalHazard::ConnectedToRemoved {
            name: name.clone(),
            server: c.clone(),
            primary: new.primary.clone(),
        }),
        None => Some(RemovalHazard::Disconnected {
            name: name.clone(),
            removed,
            primary: new.primary.clone(),
        }),
    }
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
                evidence: None,
            });
        }
        o.agents.push(ObservedMember {
            name: n("web01"),
            parents: configured,
            connected: connected.map(n),
            up: true,
            ready: true,
            evidence: None,
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
    fn a_removal_is_safe_only_once_the_member_talks_to_a_server_it_keeps() {
        let web = n("web01");
        let bridge = p("gw2", &["gw1"]);
        let exact = p("gw2", &[]);
        // Nothing removed: always safe, even disconnected.
        assert_eq!(removal_hazard(&web, Some((&exact, None)), &bridge), None);
        // The prune: safe on the new primary, not while still on gw1.
        assert_eq!(
            removal_hazard(&web, Some((&bridge, Some(&n("gw2")))), &exact),
            None
        );
        let h = removal_hazard(&web, Some((&bridge, Some(&n("gw1")))), &exact).unwrap();
        assert!(matches!(h, RemovalHazard::ConnectedToRemoved { .. }));
        assert!(
            h.to_string()
                .starts_with("not sent: web01 is connected to gw1, which this change removes"),
            "{h}"
        );
        // Disconnected: it may be calling any parent it had.
        let h = removal_hazard(&web, Some((&bridge, None)), &exact).unwrap();
        assert!(h.to_string().contains("may still be calling gw1"), "{h}");
        // Connected to a failover the write keeps: safe.
        let three = p("gw1", &["gw3"]);
        assert_eq!(
            removal_hazard(&web, Some((&three, Some(&n("gw3")))), &p("gw2", &["gw3"])),
            None
        );
        // Not observed: not sent.
        assert!(matches!(
            removal_hazard(&web, None, &exact),
            Some(RemovalHazard::NotObserved { .. })
        ));
    }

    #[test]
    fn bridge_shape() {
        assert!(is_bridge_of(&p("a", &["b"]), &p("a", &["b", "c"])));
        assert!(!is_bridge_of(&p("a", &["b"]), &p("a", &["c", "b"])));
        assert!(!is_bridge_of(&p("a", &[]), &p("x", &["a"])));
        assert!(!is_bridge_of(&p("a", &[]), &p("a", &[])));
    }
}
