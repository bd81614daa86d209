//! The waves of `plan --format powershell`: the plan's steps cut into
//! groups of at most `policy.maxInFlight` members started together, as
//! the executor keeps that many in flight.
//!
//! Owns the grouping: each member's steps (or the Central Management
//! Store's) form one unit; a wave takes up to `max_in_flight` units whose
//! every step from another unit has run in an earlier wave, and runs them
//! in phases: each unit's steps up to its next wait, then one wait for all
//! of them. So a member is never pruned before its own wait, a unit never
//! starts before what it waits for, and a poll looks only at the members
//! still in flight. Must not render text (`powershell` does) or plan.
//! Pure.

use crate::plan::{Action, Step};
use std::collections::{BTreeMap, BTreeSet};

/// One phase of a wave.
#[derive(Debug, PartialEq)]
pub enum Phase<'a> {
    /// Steps to run one after the other (changes, retirements, store
    /// steps).
    Run(Vec<&'a Step>),
    /// Member waits to poll together until each holds.
    Wait(Vec<&'a Step>),
}

/// One wave: its units' phases, in order.
#[derive(Debug, PartialEq)]
pub struct Wave<'a> {
    /// How many members the wave starts.
    pub members: usize,
    /// Whether the wave runs the Central Management Store's steps.
    pub store: bool,
    /// The phases, to run in order.
    pub phases: Vec<Phase<'a>>,
}

/// Whether a step is a member wait polled with the others of its wave.
fn is_wait(s: &Step) -> bool {
    matches!(
        s.action,
        Action::AwaitConnected { .. } | Action::AwaitReady { .. }
    )
}

/// The unit of the Central Management Store's steps (a member's unit has
/// a space in it, so none is called this).
const STORE: &str = "store";

/// The unit a step belongs to: its member, or the store.
fn unit_of(s: &Step) -> String {
    match &s.action {
        Action::SetParents { kind, name, .. }
        | Action::AwaitConnected { kind, name, .. }
        | Action::AwaitReady { kind, name }
        | Action::RetireGateway { kind, name } => {
            format!("{kind} {}", name.as_str().to_ascii_lowercase())
        }
        Action::AwaitReplication { .. }
        | Action::StoreFailover { .. }
        | Action::AwaitStoreActive { .. } => STORE.to_string(),
    }
}

/// Cuts `ordered` (the steps in causal order) into waves of at most
/// `max_in_flight` units (at least 1).
pub fn waves<'a>(ordered: &[&'a Step], max_in_flight: u32) -> Vec<Wave<'a>> {
    let max = max_in_flight.max(1) as usize;
    // Units in order of their first step.
    let mut units: Vec<(String, Vec<&'a Step>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for s in ordered {
        let u = unit_of(s);
        let i = *index.entry(u.clone()).or_insert_with(|| {
            units.push((u, Vec::new()));
            units.len() - 1
        });
        units[i].1.push(s);
    }
    let mut done: BTreeSet<u32> = BTreeSet::new();
    let mut started = vec![false; units.len()];
    let mut out = Vec::new();
    while started.iter().any(|s| !s) {
        let ready = |i: usize, done: &BTreeSet<u32>| {
            let own: BTreeSet<u32> = units[i].1.iter().map(|s| s.id).collect();
            units[i]
                .1
                .iter()
                .flat_map(|s| &s.after)
                .all(|a| own.contains(a) || done.contains(a))
        };
        let mut picked: Vec<usize> = (0..units.len())
            .filter(|&i| !started[i] && ready(i, &done))
            .take(max)
            .collect();
        if picked.is_empty() {
            // Not reached for a plan (its `after` only names earlier
            // steps); never loop: the rest, one unit per wave, in order.
            picked = (0..units.len()).filter(|&i| !started[i]).take(1).collect();
        }
        let mut phases = Vec::new();
        let mut cursor = vec![0usize; picked.len()];
        loop {
            let mut run = Vec::new();
            let mut wait = Vec::new();
            for (k, &i) in picked.iter().enumerate() {
                let steps = &units[i].1;
                while cursor[k] < steps.len() && !is_wait(steps[cursor[k]]) {
                    run.push(steps[cursor[k]]);
                    cursor[k] += 1;
                }
                if cursor[k] < steps.len() {
                    wait.push(steps[cursor[k]]);
                    cursor[k] += 1;
                }
            }
            if run.is_empty() && wait.is_empty() {
                break;
            }
            if !run.is_empty() {
                phases.push(Phase::Run(run));
            }
            if !wait.is_empty() {
                phases.push(Phase::Wait(wait));
            }
        }
        for &i in &picked {
            started[i] = true;
            done.extend(units[i].1.iter().map(|s| s.id));
        }
        let store = picked.iter().any(|&i| units[i].0 == STORE);
        out.push(Wave {
            members: picked.len() - usize::from(store),
            store,
            phases,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MemberKind;
    use crate::name::Name;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    /// A make-before-break move of `name` as steps `id..id+2`.
    fn mv(id: u32, name: &str, after: Vec<u32>) -> Vec<Step> {
        let set = |id, bridge, after| Step {
            id,
            action: Action::SetParents {
                kind: MemberKind::Agent,
                name: n(name),
                primary: n("gw2"),
                failover: vec![],
                bridge,
            },
            after,
        };
        vec![
            set(id, true, after),
            Step {
                id: id + 1,
                action: Action::AwaitConnected {
                    kind: MemberKind::Agent,
                    name: n(name),
                    server: n("gw2"),
                },
                after: vec![id],
            },
            set(id + 2, false, vec![id + 1]),
        ]
    }

    fn ids(p: &Phase) -> Vec<u32> {
        match p {
            Phase::Run(s) | Phase::Wait(s) => s.iter().map(|s| s.id).collect(),
        }
    }

    #[test]
    fn members_go_in_waves_of_max_in_flight_bridged_then_polled_together_then_pruned() {
        let steps: Vec<Step> = [
            mv(1, "a1", vec![]),
            mv(4, "a2", vec![]),
            mv(7, "a3", vec![]),
        ]
        .concat();
        let ordered: Vec<&Step> = steps.iter().collect();
        let w = waves(&ordered, 2);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].members, w[0].store), (2, false));
        let shape: Vec<Vec<u32>> = w[0].phases.iter().map(ids).collect();
        assert_eq!(shape, [vec![1, 4], vec![2, 5], vec![3, 6]]);
        assert!(matches!(w[0].phases[1], Phase::Wait(_)));
        let shape: Vec<Vec<u32>> = w[1].phases.iter().map(ids).collect();
        assert_eq!(shape, [vec![7], vec![8], vec![9]]);
    }

    #[test]
    fn a_member_that_waits_for_another_goes_in_a_later_wave() {
        // a2's bridge waits for a1's prune (a gateway moved first).
        let steps: Vec<Step> = [
            mv(1, "gw1", vec![]),
            mv(4, "a2", vec![3]),
            mv(7, "a3", vec![]),
        ]
        .concat();
        let ordered: Vec<&Step> = steps.iter().collect();
        let w = waves(&ordered, 100);
        assert_eq!(w.len(), 2);
        let first: Vec<Vec<u32>> = w[0].phases.iter().map(ids).collect();
        assert_eq!(first, [vec![1, 7], vec![2, 8], vec![3, 9]]);
        let second: Vec<Vec<u32>> = w[1].phases.iter().map(ids).collect();
        assert_eq!(second, [vec![4], vec![5], vec![6]]);
    }

    #[test]
    fn zero_in_flight_still_makes_progress() {
        let steps = mv(1, "a1", vec![]);
        let ordered: Vec<&Step> = steps.iter().collect();
        assert_eq!(waves(&ordered, 0).len(), 1);
    }
}
