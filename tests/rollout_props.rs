//! Property: whatever the steps and wherever an overloaded gateway gives
//! up, a progressive rollout never strands a member, and a rollback ends
//! with every rolled-back member on exactly the parents it had before.
//!
//! Each case draws an estate (agents on two old gateways, gw3 as every
//! agent's failover), a rollout (one to three members/percent steps with
//! soaks, sometimes a final 100%, pause or rollback) and an `overload`
//! fault on the new gateway at any threshold, and rehearses it in the
//! simulator with the real planner, executor and `RolloutPlanner`.

use handover::execute::{self, ConvergeOptions, EngineOptions, Silent};
use handover::model::{OnFailure, Parents, StepTarget};
use handover::name::Name;
use handover::plan::rollout::{Event, Phase};
use handover::run::rollout::RolloutPlanner;
use handover::sim::{FaultSchedule, Sim, SimConfig};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One drawn case.
#[derive(Debug, Clone)]
struct Case {
    agents: usize,
    /// Per agent: its old primary is gw1 (false) or gw4 (true).
    on_gw4: Vec<bool>,
    steps: Vec<(bool, u64, u64)>,
    last_full: bool,
    rollback: bool,
    above: u32,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (3usize..30)
        .prop_flat_map(|agents| {
            (
                Just(agents),
                proptest::collection::vec(any::<bool>(), agents),
                proptest::collection::vec((any::<bool>(), 1u64..100, 0u64..3), 1..4),
                any::<bool>(),
                any::<bool>(),
                1u32..(agents as u32 + 2),
                any::<u64>(),
            )
        })
        .prop_map(
            |(agents, on_gw4, steps, last_full, rollback, above, seed)| Case {
                agents,
                on_gw4,
                steps,
                last_full,
                rollback,
                above,
                seed,
            },
        )
}

fn files(c: &Case) -> (String, String, String) {
    let mut desired = String::from(
        "apiVersion: handover/v1\nkind: Topology\nmanagementServers: [{name: ms1}]\ngateways:\n",
    );
    for g in ["gw1", "gw2", "gw3", "gw4"] {
        writeln!(desired, "  - {{name: {g}, primary: ms1}}").unwrap();
    }
    desired.push_str("agentRules:\n  - {match: \"a*\", primary: gw2, failover: [gw3]}\npolicy:\n  maxInFlight: 4\n  ackTimeout: 5m\n  rollout:\n    steps:\n");
    // Steps of one kind must increase: keep a running maximum per kind.
    let (mut members, mut percent) = (0u64, 0u64);
    for &(is_members, v, soak) in &c.steps {
        if is_members {
            members += v.min(10);
            writeln!(
                desired,
                "      - {{members: {members}, soak: {}m}}",
                soak * 5
            )
            .unwrap();
        } else {
            if percent >= 100 {
                continue;
            }
            percent = (percent + v).min(100);
            writeln!(
                desired,
                "      - {{percent: {percent}, soak: {}m}}",
                soak * 5
            )
            .unwrap();
        }
    }
    if c.last_full && percent < 100 {
        desired.push_str("      - {percent: 100}\n");
    }
    writeln!(
        desired,
        "    onFailure: {}",
        if c.rollback { "rollback" } else { "pause" }
    )
    .unwrap();
    let mut observed = String::from(
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\ngateways:\n",
    );
    for g in ["gw1", "gw2", "gw3", "gw4"] {
        writeln!(observed, "  - {{name: {g}, primary: ms1, connected: ms1}}").unwrap();
    }
    observed.push_str("agents:\n");
    for i in 0..c.agents {
        let old = if c.on_gw4[i] { "gw4" } else { "gw1" };
        writeln!(
            observed,
            "  - {{name: a{i:02}, primary: {old}, failover: [gw3], connected: {old}}}"
        )
        .unwrap();
    }
    let faults = format!(
        "faults:\n  - overload: {{server: gw2, above: {}}}\n",
        c.above
    );
    (desired, observed, faults)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(32)
    ))]

    #[test]
    fn a_rollout_never_strands_and_a_rollback_restores_the_old_parents(c in case()) {
        let (d, o, f) = files(&c);
        let desired = handover::load::topology_str(&d, "d.yaml").unwrap();
        let observed = handover::load::observed_str(&o, "o.yaml").unwrap();
        let before: BTreeMap<Name, Parents> = observed
            .agents
            .iter()
            .map(|a| (a.name.clone(), a.parents.clone()))
            .collect();
        let faults = FaultSchedule::parse(&f, "f.yaml").unwrap();
        let mut sim = Sim::try_new(&observed, SimConfig::seeded(c.seed).with_faults(faults)).unwrap();
        let mut planner = RolloutPlanner::new("prop");
        let opts = ConvergeOptions {
            exec: EngineOptions { seed: c.seed, ..EngineOptions::from_policy(&desired.policy) },
            ..ConvergeOptions::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let report = rt.block_on(execute::converge(&mut sim, &desired, &mut planner, &opts, &mut Silent));
        prop_assert!(report.stranded_ever.is_empty(), "stranded: {:?}\n{d}", report.stranded_ever);
        let status = planner.status.clone().expect("a rollout ran");
        let rolled: Vec<Name> = planner
            .timeline
            .iter()
            .filter_map(|t| match &t.event {
                Event::RollbackStarted { members, .. } => Some(members.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        if status.phase == Phase::RolledBack {
            prop_assert!(c.rollback);
            prop_assert!(!rolled.is_empty());
            for m in &rolled {
                let now = sim.member(m).unwrap();
                prop_assert_eq!(&now.configured, &before[m], "{} is not on its old parents\n{}", m, d);
            }
        }
        if !c.rollback {
            prop_assert!(rolled.is_empty(), "pause never rolls back");
        }
        if status.phase == Phase::Complete {
            // Every step passed: no member was ever taken back.
            prop_assert!(rolled.is_empty());
        }
        // However far it got, no agent admitted by no step was touched
        // while the rollout was stopped.
        if matches!(status.phase, Phase::AnalysisFailed | Phase::RolledBack) {
            let admitted: usize = planner
                .timeline
                .iter()
                .filter_map(|t| match &t.event {
                    Event::StepStarted { target, .. } => Some(*target as usize),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            let moved_now = sim_moved(&sim, &before);
            prop_assert!(moved_now <= admitted, "{} moved, {} admitted\n{}", moved_now, admitted, d);
        }
    }
}

/// Agents whose configured parents differ from where they started.
fn sim_moved(sim: &Sim, before: &BTreeMap<Name, Parents>) -> usize {
    before
        .iter()
        .filter(|(name, p)| sim.member(name).is_some_and(|m| &m.configured != *p))
        .count()
}

#[test]
fn the_generator_writes_valid_rollouts() {
    let c = Case {
        agents: 4,
        on_gw4: vec![false, true, false, true],
        steps: vec![(true, 2, 1), (false, 50, 0), (false, 70, 2)],
        last_full: true,
        rollback: true,
        above: 2,
        seed: 1,
    };
    let (d, _, _) = files(&c);
    let t = handover::load::topology_str(&d, "d.yaml").unwrap();
    let r = t.policy.rollout.unwrap();
    // 50 then 50 + 70, capped at 100; no extra 100% after it.
    assert_eq!(r.steps.len(), 3);
    assert_eq!(r.steps[0].target, StepTarget::Members(2));
    assert_eq!(r.steps[2].target, StepTarget::Percent(100));
    assert_eq!(r.on_failure, OnFailure::Rollback);
}
