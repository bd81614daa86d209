//! Make before break (docs/spec.md rules 1 and 2): does a change need a bridge,
//! and what is it?
//!
//! Owns "may be talking to" and the shape of a bridge. Pure functions over
//! parent lists; must not look at readiness or ordering.

use crate::model::{ObservedMember, Parents};
use crate::name::Name;

/// The servers a member may be talking to: the one it is connected to, or,
/// when it is disconnected, every parent it has.
pub fn may_be_talking_to(member: &ObservedMember) -> Vec<&Name> {
    match &member.connected {
        Some(c) => vec![c],
        None => member.parents.iter().collect(),
    }
}

/// True when writing `desired` would drop a server the member may be
/// talking to.
pub fn drops_a_talking_parent(member: &ObservedMember, desired: &Parents) -> bool {
    may_be_talking_to(member)
        .into_iter()
        .any(|s| !desired.lists(s))
}

/// True when `configured` is a bridge towards `desired`: the desired
/// primary, the desired failovers in order, then at least one extra
/// failover (an old parent kept until the member has moved).
pub fn is_bridge_of(desired: &Parents, configured: &Parents) -> bool {
    configured.primary == desired.primary
        && configured.failover.len() > desired.failover.len()
        && configured.failover.starts_with(&desired.failover)
}

/// The bridge: the desired primary, the desired failovers, then every old
/// parent the desired list drops, in their old order, as extra failovers.
///
/// A member already in this bridge gives the same bridge back, which is how
/// a member found in flight is recognised.
pub fn bridge(old: &Parents, desired: &Parents) -> Parents {
    let mut failover = desired.failover.clone();
    for s in old.iter() {
        if !desired.lists(s) && !failover.contains(s) {
            failover.push(s.clone());
        }
    }
    Parents {
        primary: desired.primary.clone(),
        failover,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn p(primary: &str, failover: &[&str]) -> Parents {
        Parents {
            primary: n(primary),
            failover: failover.iter().map(|s| n(s)).collect(),
        }
    }

    #[test]
    fn bridge_keeps_dropped_parents_after_the_desired_ones() {
        let b = bridge(&p("gw1", &["gw4", "gw3"]), &p("gw2", &["gw3"]));
        assert_eq!(b, p("gw2", &["gw3", "gw1", "gw4"]));
    }

    #[test]
    fn bridge_of_a_bridge_is_itself() {
        let d = p("gw2", &["gw3"]);
        let b = bridge(&p("gw1", &["gw4"]), &d);
        assert_eq!(bridge(&b, &d), b);
    }

    #[test]
    fn talking_to_is_the_connection_or_every_parent() {
        let mut m = ObservedMember {
            name: n("web01"),
            parents: p("gw1", &["gw2"]),
            connected: Some(n("GW2")),
            up: true,
            ready: true,
            evidence: None,
        };
        assert_eq!(may_be_talking_to(&m), vec![&n("gw2")]);
        assert!(!drops_a_talking_parent(&m, &p("gw2", &[])));
        assert!(drops_a_talking_parent(&m, &p("gw1", &[])));
        m.connected = None;
        assert_eq!(may_be_talking_to(&m).len(), 2);
        assert!(drops_a_talking_parent(&m, &p("gw2", &[])));
    }
}
