//! The seed hazard, reproduced with the library's simulator only: changing
//! parents in one step (as the console does) strands every connected agent
//! none of whose old parents is kept; make-before-break done by hand
//! strands none and ends with every agent on its new primary.

use handover::model::{MemberKind, Observed, Parents};
use handover::name::Name;
use handover::provider::{Clock, Operation, Provider, Scope};
use handover::sim::{Sim, SimConfig};
use std::path::Path;
use std::time::Duration;

const DIR: &str = "examples/topologies/replace-gateway";

/// The observed estate and each agent's desired parents.
fn estate() -> (Observed, Vec<(Name, Parents)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let observed = handover::load::observed(&dir.join("observed.yaml")).unwrap();
    let desired = handover::load::topology(&[dir.join("desired.yaml")]).unwrap();
    let assignment = handover::assign::resolve(&desired, &observed).unwrap();
    let wanted = assignment
        .agents
        .into_iter()
        .map(|a| (a.name, a.parents))
        .collect();
    (observed, wanted)
}

fn set(name: &Name, parents: Parents) -> Operation {
    Operation::SetParents {
        kind: MemberKind::Agent,
        name: name.clone(),
        parents,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn direct_changes_strand_every_agent_whose_parents_are_all_dropped() {
    let (observed, wanted) = estate();
    // Agents connected now, none of whose configured parents survives.
    let mut expected: Vec<Name> = observed
        .agents
        .iter()
        .filter(|a| a.connected.is_some())
        .filter(|a| {
            let (_, want) = wanted.iter().find(|(n, _)| *n == a.name).unwrap();
            !a.parents.iter().any(|p| want.lists(p))
        })
        .map(|a| a.name.clone())
        .collect();
    expected.sort();
    assert_eq!(
        expected.len(),
        12,
        "web01..web12 lose gw1, their only parent"
    );

    for seed in [1, 2, 3] {
        let mut sim = Sim::from_observed(&observed, SimConfig::seeded(seed));
        for (name, parents) in &wanted {
            sim.apply_now(&set(name, parents.clone())).unwrap();
        }
        sim.advance(Duration::from_secs(2 * 3600));
        assert_eq!(sim.stranded(), expected, "seed {seed}");
        assert!(sim.is_quiescent(), "stranded agents cannot progress");
        // sql03/sql04 kept gw3 as a failover: they reconnect there, learn,
        // and reach their new primary.
        for name in ["sql03.dmz.contoso.local", "sql04.dmz.contoso.local"] {
            let v = sim.member(&Name::parse(name).unwrap()).unwrap();
            assert_eq!(v.connected, Some(v.configured.primary.clone()), "{name}");
        }
    }
}

/// Bridge, await connection to the new primary, prune — by hand, through
/// the provider and clock traits exactly as an executor would.
async fn make_before_break<T: Provider + Clock>(
    target: &mut T,
    wanted: &[(Name, Parents)],
) -> Vec<Name> {
    let before = target.observe(&Scope::All).await.unwrap();
    let mut moving = Vec::new();
    for (name, want) in wanted {
        let now = before.agents.iter().find(|a| a.name == *name).unwrap();
        if now.parents == *want {
            continue;
        }
        let mut bridge = want.clone();
        for old in now.parents.iter() {
            if !bridge.lists(old) {
                bridge.failover.push(old.clone());
            }
        }
        target.apply(&set(name, bridge)).await.unwrap();
        moving.push(name.clone());
    }
    let start = target.now();
    loop {
        let seen = target
            .observe(&Scope::Members(moving.clone()))
            .await
            .unwrap();
        let arrived = seen
            .agents
            .iter()
            .all(|a| a.connected.as_ref() == Some(&a.parents.primary));
        if arrived {
            break;
        }
        assert!(
            target.now() - start < Duration::from_secs(1800),
            "no ack in 30 min"
        );
        target.sleep(Duration::from_secs(10)).await;
    }
    for (name, want) in wanted {
        if moving.contains(name) {
            target.apply(&set(name, want.clone())).await.unwrap();
        }
    }
    target.sleep(Duration::from_secs(3600)).await;
    moving
}

#[test]
fn make_before_break_strands_nobody_and_ends_on_the_new_primaries() {
    let (observed, wanted) = estate();
    for seed in [1, 2, 3] {
        let mut sim = Sim::from_observed(&observed, SimConfig::seeded(seed));
        let moved = block_on(make_before_break(&mut sim, &wanted));
        assert_eq!(
            moved.len(),
            16,
            "every agent changes: web and sql03/04 move, sql01/02 swap gw1 for gw2"
        );
        assert!(sim.stranded().is_empty(), "seed {seed}");
        for (name, want) in &wanted {
            let v = sim.member(name).unwrap();
            assert_eq!(&v.configured, want, "{name}");
            assert_eq!(&v.learned, want, "{name} learned its final parents");
            assert_eq!(v.connected.as_ref(), Some(&want.primary), "{name}");
        }
        assert!(sim.is_quiescent());
        assert_eq!(sim.calls().changes, 32, "16 bridges and 16 prunes");
    }
}
