//! Unit tests of admission: held changes keep their configured parents,
//! started changes always finish, and the planner follows.

use super::*;
use crate::assign;
use crate::load::{observed_str, topology_str};
use crate::plan::{Action, Plan, plan_assigned};

const DESIRED: &str = "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1}, {name: ms2}]
gateways:
  - {name: gw1, primary: ms2, failover: []}
agents:
  - {name: a1, primary: gw1}
  - {name: a2, primary: gw1}
  - {name: a3, primary: ms2, failover: [ms1]}
";

const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1, up: true}, {name: ms2, up: true}]
gateways:
  - {name: gw1, primary: ms1, failover: [], connected: ms1, up: true, ready: true}
agents:
  - {name: a1, primary: ms1, failover: [], connected: ms1}
  - {name: a2, primary: gw1, failover: [ms1], connected: ms1}
  - {name: a3, primary: ms1, failover: [], connected: ms1}
";

fn inputs() -> (Topology, Observed, Assignment) {
    let d = topology_str(DESIRED, "d.yaml").unwrap();
    let o = observed_str(OBSERVED, "o.yaml").unwrap();
    let a = assign::resolve(&d, &o).unwrap();
    (d, o, a)
}

fn set_parents(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::SetParents { name, primary, .. } => Some(format!("{name}->{primary}")),
            _ => None,
        })
        .collect()
}

#[test]
fn wanting_lists_only_changes_that_have_not_started_gateways_first() {
    let (d, o, a) = inputs();
    let w: Vec<String> = wanting(&d, &o, &a)
        .iter()
        .map(|(k, n, _, _)| format!("{k:?} {n}"))
        .collect();
    // a2 already has its desired primary (a bridge waiting to be pruned).
    assert_eq!(w, ["Gateway gw1", "Agent a1", "Agent a3"]);
}

#[test]
fn admitting_everything_changes_nothing() {
    let (d, o, a) = inputs();
    let (d2, a2, held) = hold(&d, &o, &a, &|_| true);
    assert!(held.is_empty());
    assert!(matches!(d2, Cow::Borrowed(_)), "nothing held: not copied");
    assert!(matches!(a2, Cow::Borrowed(_)), "nothing held: not copied");
    assert_eq!(*d2, d);
    assert_eq!(*a2, a);
}

#[test]
fn holding_everything_still_finishes_a_started_bridge() {
    let (d, o, a) = inputs();
    let (d2, a2, held) = hold(&d, &o, &a, &|_| false);
    let names: Vec<&str> = held.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["gw1", "a1", "a3"]);
    let p = plan_assigned(&d2, &o, &a2);
    // Nothing starts; a2's bridge is acknowledged and pruned.
    assert_eq!(set_parents(&p), ["a2->gw1"], "{p:#?}");
    assert!(p.steps.iter().any(
        |s| matches!(&s.action, Action::AwaitConnected { name, .. } if name.as_str() == "a2")
    ));
}

#[test]
fn a_held_gateway_keeps_the_agents_that_move_onto_it_from_starting() {
    let (d, o, a) = inputs();
    let admit = |s: Subject<'_>| !matches!(s, Subject::Member(MemberKind::Gateway, _));
    let (d2, a2, held) = hold(&d, &o, &a, &admit);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].from.as_ref().unwrap().primary.as_str(), "ms1");
    assert_eq!(held[0].to.as_ref().unwrap().primary.as_str(), "ms2");
    let p = plan_assigned(&d2, &o, &a2);
    // gw1 keeps ms1; a1 may still move onto gw1 (its chain reaches ms1), a3 moves.
    let moved = set_parents(&p);
    assert!(!moved.iter().any(|m| m.starts_with("gw1")), "{moved:?}");
    assert!(moved.iter().any(|m| m == "a3->ms2"), "{moved:?}");
}

#[test]
fn admitting_only_named_members_moves_only_them() {
    let (d, o, a) = inputs();
    let admit = |s: Subject<'_>| matches!(s, Subject::Member(_, n) if n.as_str() == "a3");
    let (d2, a2, held) = hold(&d, &o, &a, &admit);
    assert_eq!(held.len(), 2);
    let p = plan_assigned(&d2, &o, &a2);
    let mut moved = set_parents(&p);
    moved.sort();
    assert_eq!(moved, ["a2->gw1", "a3->ms2"], "{p:#?}");
}

#[test]
fn a_change_of_failovers_alone_has_not_started_but_a_bridge_has() {
    let p = |primary: &str, failover: &[&str]| Parents {
        primary: primary.parse().unwrap(),
        failover: failover.iter().map(|f| f.parse().unwrap()).collect(),
    };
    let desired = p("gw3", &["gw2"]);
    assert!(not_started(&desired, &p("gw3", &["gw1"])), "failovers only");
    assert!(
        not_started(&desired, &p("gw1", &["gw2"])),
        "another primary"
    );
    assert!(
        !not_started(&desired, &p("gw3", &["gw2", "gw1"])),
        "a bridge"
    );
    assert!(!not_started(&desired, &p("gw3", &["gw2"])), "done");
}
