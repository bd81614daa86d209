//! The approval gate: thresholds, the digest's coverage, and an approval
//! that survives its migration's progress.

use super::*;
use crate::assign;
use crate::load::{observed_str, topology_str};
use crate::plan::plan_assigned;

const DESIRED: &str = "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1}, {name: ms2}]
agents:
  - {name: a1, primary: ms2}
  - {name: a2, primary: ms2}
  - {name: a3, primary: ms2}
  - {name: a4, primary: ms1}
policy:
  approval: {aboveMembers: 2}
";

fn observed(a1: &str, a2: &str) -> Observed {
    observed_str(
        &format!(
            "apiVersion: handover/v1
kind: Observed
managementServers: [{{name: ms1, up: true}}, {{name: ms2, up: true}}]
agents:
  - {{name: a1, {a1}, connected: ms1}}
  - {{name: a2, {a2}, connected: ms1}}
  - {{name: a3, primary: ms1, failover: [], connected: ms1}}
  - {{name: a4, primary: ms1, failover: [], connected: ms1}}
"
        ),
        "o.yaml",
    )
    .unwrap()
}

const AT_MS1: &str = "primary: ms1, failover: []";

fn run(
    d: &Topology,
    o: &Observed,
    before: &FastSet<Change>,
    approved: &[&str],
) -> (Gate, Vec<String>) {
    let a = assign::resolve(d, o).unwrap();
    let g = gate(d.policy.approval.as_ref(), d, o, &a, before, &|x| {
        approved.contains(&x)
    });
    let admit = admits(&g, d, o, &a, before);
    let (d2, a2, _) = admit::hold(d, o, &a, &admit);
    let p = plan_assigned(&d2, o, &a2);
    let moved = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            crate::plan::Action::SetParents { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .collect();
    (g, moved)
}

#[test]
fn above_the_threshold_nothing_starts_until_the_digest_is_approved() {
    let d = topology_str(DESIRED, "d.yaml").unwrap();
    let o = observed(AT_MS1, AT_MS1);
    let (g, moved) = run(&d, &o, &FastSet::default(), &[]);
    let Gate::Waiting(w) = g else { panic!("{g:?}") };
    assert_eq!((w.members, w.managed), (3, 4));
    assert!(is_digest(&w.digest), "{}", w.digest);
    assert!(moved.is_empty(), "{moved:?}");
    let (g, moved) = run(&d, &o, &FastSet::default(), &[&w.digest]);
    assert!(
        matches!(g, Gate::Approved { ref digest, ref changes } if *digest == w.digest && changes.len() == 3)
    );
    assert!(!moved.is_empty());
}

#[test]
fn within_the_threshold_or_without_a_policy_it_is_open() {
    let mut d = topology_str(DESIRED, "d.yaml").unwrap();
    // a1 and a2 already started: one change left.
    let o = observed(
        "primary: ms2, failover: [ms1]",
        "primary: ms2, failover: [ms1]",
    );
    assert_eq!(run(&d, &o, &FastSet::default(), &[]).0, Gate::Open);
    d.policy.approval = None;
    assert_eq!(
        run(&d, &observed(AT_MS1, AT_MS1), &FastSet::default(), &[]).0,
        Gate::Open
    );
}

#[test]
fn a_changed_observation_or_desired_state_makes_a_new_digest() {
    let d = topology_str(DESIRED, "d.yaml").unwrap();
    let digest_of = |d: &Topology, o: &Observed| {
        let a = assign::resolve(d, o).unwrap();
        digest(&changes(d, o, &a))
    };
    let base = digest_of(&d, &observed(AT_MS1, AT_MS1));
    // Someone moved a2 by hand to a failover list: a new observation.
    let drifted = digest_of(&d, &observed(AT_MS1, "primary: ms1, failover: [ms2]"));
    assert_ne!(base, drifted);
    let d2 = topology_str(
        &DESIRED.replace("a3, primary: ms2", "a3, primary: ms1"),
        "d.yaml",
    )
    .unwrap();
    assert_ne!(base, digest_of(&d2, &observed(AT_MS1, AT_MS1)));
    // The same changes in another order: the same digest.
    let a = assign::resolve(&d, &observed(AT_MS1, AT_MS1)).unwrap();
    let mut c = changes(&d, &observed(AT_MS1, AT_MS1), &a);
    c.reverse();
    assert_eq!(digest(&c), base);
}

#[test]
fn progress_does_not_expire_an_approval() {
    let d = topology_str(DESIRED, "d.yaml").unwrap();
    let o = observed(AT_MS1, AT_MS1);
    let (Gate::Waiting(w), _) = run(&d, &o, &FastSet::default(), &[]) else {
        panic!()
    };
    let (Gate::Approved { changes, .. }, _) = run(&d, &o, &FastSet::default(), &[&w.digest]) else {
        panic!()
    };
    let before: FastSet<Change> = changes.into_iter().collect();
    // a1 is in a bridge now: the remaining changes are a subset of the
    // approved ones, with a digest of their own that nobody approved.
    let later = observed("primary: ms2, failover: [ms1]", AT_MS1);
    let (g, moved) = run(&d, &later, &before, &[]);
    assert_eq!(g, Gate::Open);
    assert!(moved.contains(&"a2".to_string()), "{moved:?}");
}

#[test]
fn changes_approved_earlier_still_start_while_new_ones_wait() {
    let d = topology_str(DESIRED, "d.yaml").unwrap();
    let o = observed(AT_MS1, AT_MS1);
    let a = assign::resolve(&d, &o).unwrap();
    // Only a1's change was approved earlier; a2 and a3 are new, and two
    // is above a threshold of one.
    let mut d1 = d.clone();
    d1.policy.approval = Some(Approval {
        above_members: Some(1),
        above_percent: None,
    });
    let before: FastSet<Change> = changes(&d1, &o, &a)
        .into_iter()
        .filter(|c| c.name.as_str() == "a1")
        .collect();
    let (g, moved) = run(&d1, &o, &before, &[]);
    let Gate::Waiting(w) = g else { panic!("{g:?}") };
    assert_eq!(w.members, 2);
    assert_eq!(moved, vec!["a1".to_string()]);
}

#[test]
fn digests_are_recognised() {
    assert!(is_digest("fnv1a64:0123456789abcdef"));
    for bad in [
        "",
        "fnv1a64:",
        "fnv1a64:0123",
        "sha256:0123456789abcdef",
        "fnv1a64:0123456789abcdeg",
    ] {
        assert!(!is_digest(bad), "{bad}");
    }
}
