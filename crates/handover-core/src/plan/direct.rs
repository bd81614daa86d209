//! The `direct` strategy: what the console does. For every managed member
//! whose configured parents differ from the desired ones, one `set_parents`
//! with the exact desired parents, no bridge, no await.
//!
//! It exists only to show the hazard in a rehearsal (docs/spec.md section 7): it
//! strands every member whose connected parent it drops. Pure: no I/O.

use super::types::{Action, BlockReason, Blocked, BlockedKind, Plan, Step};
use crate::assign;
use crate::hash::FastMap as HashMap;
use crate::model::{MemberKind, Observed, ObservedMember, Parents, Topology};
use crate::name::Name;

/// Plans the console's way: gateways first, then agents, each set to its
/// exact desired parents in one step. Desired members the management group
/// does not know are listed as blocked. If a rule's glob does not compile
/// (validation reports that first), only explicit agents are managed.
pub fn plan(desired: &Topology, observed: &Observed) -> Plan {
    // Lenient like the make-before-break planner, so both strategies manage
    // the same agents even when a spread rule is over capacity.
    let (agents, unmanaged) = match assign::resolve_lenient(desired, observed) {
        Ok((a, _over_capacity)) => (
            a.agents
                .into_iter()
                .map(|a| (a.name, a.parents))
                .collect::<Vec<_>>(),
            a.unmanaged.len() as u64,
        ),
        Err(_) => (
            desired
                .agents
                .iter()
                .map(|a| (a.name.clone(), a.parents.clone()))
                .collect(),
            0,
        ),
    };
    let gateways: Vec<(Name, Parents)> = desired
        .gateways
        .iter()
        .map(|g| (g.name.clone(), g.parents.clone()))
        .collect();
    let mut steps = Vec::new();
    let mut blocked = Vec::new();
    for (kind, wanted, seen) in [
        (MemberKind::Gateway, &gateways, &observed.gateways),
        (MemberKind::Agent, &agents, &observed.agents),
    ] {
        let seen: HashMap<&Name, &ObservedMember> = seen.iter().map(|m| (&m.name, m)).collect();
        for (name, parents) in wanted {
            match seen.get(name) {
                Some(m) if &m.parents == parents => {}
                Some(_) => steps.push(Step {
                    id: steps.len() as u32 + 1,
                    action: Action::SetParents {
                        kind,
                        name: name.clone(),
                        primary: parents.primary.clone(),
                        failover: parents.failover.clone(),
                        bridge: false,
                    },
                    after: Vec::new(),
                }),
                None => blocked.push(Blocked::new(
                    match kind {
                        MemberKind::Gateway => BlockedKind::Gateway,
                        MemberKind::Agent => BlockedKind::Agent,
                    },
                    name.clone(),
                    BlockReason::NotObserved,
                )),
            }
        }
    }
    let mut plan = Plan::new(steps, blocked);
    plan.summary.unmanaged = unmanaged;
    // The executor's re-check would refuse exactly the writes this strategy
    // exists to show.
    plan.direct = true;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::MemberDef;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn def(name: &str, primary: &str) -> MemberDef {
        MemberDef {
            name: n(name),
            parents: Parents::primary_only(n(primary)),
            pos: Pos::default(),
            primary_pos: Pos::default(),
            failover_pos: vec![],
        }
    }

    fn seen(name: &str, primary: &str) -> ObservedMember {
        ObservedMember {
            name: n(name),
            parents: Parents::primary_only(n(primary)),
            connected: Some(n(primary)),
            up: true,
            ready: true,
            evidence: None,
        }
    }

    #[test]
    fn one_unbridged_step_per_differing_member_gateways_first() {
        let t = Topology {
            gateways: vec![def("gw2", "ms2")],
            agents: vec![
                def("web01", "gw2"),
                def("web02", "gw1"),
                def("web03", "gw2"),
            ],
            ..Default::default()
        };
        let mut o = Observed::new();
        o.gateways.push(seen("gw2", "ms1"));
        o.agents.push(seen("web01", "gw1"));
        o.agents.push(seen("web02", "gw1"));
        let p = plan(&t, &o);
        let got: Vec<(u32, String, bool)> = p
            .steps
            .iter()
            .map(|s| match &s.action {
                Action::SetParents {
                    name,
                    primary,
                    bridge,
                    ..
                } => (s.id, format!("{name}->{primary}"), *bridge),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "gw2->ms2".to_string(), false),
                (2, "web01->gw2".to_string(), false)
            ]
        );
        assert!(p.steps.iter().all(|s| s.after.is_empty()));
        assert_eq!(p.blocked.len(), 1);
        assert_eq!(p.blocked[0].name, n("web03"));
        assert_eq!(p.summary.moves, 2);
    }
}
