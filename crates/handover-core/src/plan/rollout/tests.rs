//! Unit tests of rollouts: steps admit members in `wanting` order, soaks
//! hold, manual pauses wait for a resume, a failed analysis pauses or rolls
//! back to the parents from before, and a lost memory starts over safely.

use super::*;
use crate::assign;
use crate::load::{observed_str, topology_str};
use crate::model::{Analysis, Seconds, Step};
use crate::plan::admit::hold;
use crate::plan::{Action, plan_assigned};

/// Ten agents move from gw1 to gw2.
fn desired() -> Topology {
    let mut t = String::from(
        "apiVersion: handover/v1\nkind: Topology\nmanagementServers: [{name: ms1}]\ngateways:\n  - {name: gw1, primary: ms1}\n  - {name: gw2, primary: ms1}\nagents:\n",
    );
    for i in 1..=10 {
        t.push_str(&format!("  - {{name: a{i:02}, primary: gw2}}\n"));
    }
    topology_str(&t, "d.yaml").unwrap()
}

/// The observation: agents in `moved` are on gw2 (connected as given by
/// `on`), the rest on gw1; gw2 `up`.
fn observed(moved: &[(usize, &str)], gw2_up: bool) -> Observed {
    let mut t = format!(
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{{name: ms1}}]\ngateways:\n  - {{name: gw1, primary: ms1, connected: ms1}}\n  - {{name: gw2, primary: ms1, connected: ms1, up: {gw2_up}}}\nagents:\n"
    );
    for i in 1..=10 {
        match moved.iter().find(|(m, _)| *m == i) {
            Some((_, "")) => t.push_str(&format!("  - {{name: a{i:02}, primary: gw2}}\n")),
            Some((_, on)) => t.push_str(&format!(
                "  - {{name: a{i:02}, primary: gw2, connected: {on}}}\n"
            )),
            None => t.push_str(&format!(
                "  - {{name: a{i:02}, primary: gw1, connected: gw1}}\n"
            )),
        }
    }
    observed_str(&t, "o.yaml").unwrap()
}

fn rollout(steps: &[(StepTarget, u64)], on_failure: OnFailure) -> Rollout {
    Rollout {
        steps: steps
            .iter()
            .map(|&(target, soak)| Step {
                target,
                soak: Seconds(soak),
            })
            .collect(),
        analysis: Analysis::default(),
        on_failure,
    }
}

fn pass(r: &Rollout, m: Option<Memory>, o: &Observed, now: u64) -> Decision {
    let d = desired();
    let a = assign::resolve(&d, o).unwrap();
    decide(r, m, "rev1", &d, o, &a, now)
}

fn admitted(dec: &Decision, o: &Observed) -> Vec<String> {
    let d = desired();
    let a = assign::resolve(&d, o).unwrap();
    wanting(&d, o, &a)
        .iter()
        .filter(|(k, n, _, _)| dec.admits(Subject::Member(*k, n)))
        .map(|(_, n, _, _)| n.to_string())
        .collect()
}

fn done(n: usize) -> Vec<(usize, &'static str)> {
    (1..=n).map(|i| (i, "gw2")).collect()
}

#[test]
fn a_step_admits_the_first_members_in_wanting_order_and_nothing_more() {
    let r = rollout(
        &[(StepTarget::Members(3), 600), (StepTarget::Percent(100), 0)],
        OnFailure::Pause,
    );
    let o = observed(&[], true);
    let dec = pass(&r, None, &o, 0);
    assert_eq!(admitted(&dec, &o), ["a01", "a02", "a03"]);
    assert_eq!(dec.status.phase, Phase::Moving);
    assert_eq!((dec.status.step, dec.status.steps), (1, 2));
    assert_eq!(dec.memory.total, 10);
    assert_eq!(dec.events, [Event::StepStarted { step: 1, target: 3 }]);
    // The planner, given what hold keeps, moves exactly those three.
    let d = desired();
    let a = assign::resolve(&d, &o).unwrap();
    let (hd, ha, held) = hold(&d, &o, &a, &|s| dec.admits(s));
    assert_eq!(held.len(), 7);
    let plan = plan_assigned(&hd, &o, &ha);
    let mut moved: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::SetParents { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    moved.sort();
    moved.dedup();
    assert_eq!(moved, ["a01", "a02", "a03"]);
}

#[test]
fn the_soak_holds_until_its_time_then_the_next_step_starts() {
    let r = rollout(
        &[(StepTarget::Members(3), 600), (StepTarget::Percent(50), 0)],
        OnFailure::Pause,
    );
    let first = pass(&r, None, &observed(&[], true), 0);
    // Two of three moved: still moving, no soak.
    let o = observed(&done(2), true);
    let d = pass(&r, Some(first.memory), &o, 100);
    assert_eq!(d.status.phase, Phase::Moving);
    // All three moved: the soak starts at 200 and ends at 800.
    let o = observed(&done(3), true);
    let d = pass(&r, Some(d.memory), &o, 200);
    assert_eq!(d.status.phase, Phase::Soaking);
    assert_eq!(d.status.soak_until, Some(800));
    assert_eq!(d.status.analysis.verdict, VerdictKind::Passing);
    assert!(
        admitted(&d, &o).is_empty(),
        "nothing new starts while soaking"
    );
    let d = pass(&r, Some(d.memory), &o, 799);
    assert_eq!(d.status.phase, Phase::Soaking);
    // At 800 step 2 (50 % of 10 = 5 in all) admits two more.
    let d = pass(&r, Some(d.memory), &o, 800);
    assert_eq!(d.status.phase, Phase::Moving);
    assert_eq!(d.status.step, 2);
    assert_eq!(admitted(&d, &o), ["a04", "a05"]);
    // Once they moved, the last step's soak of 0 ends at once: complete,
    // and every remaining member may start.
    let o = observed(&done(5), true);
    let d = pass(&r, Some(d.memory), &o, 900);
    assert_eq!(d.status.phase, Phase::Complete);
    assert_eq!(admitted(&d, &o).len(), 5);
    assert!(d.events.contains(&Event::Complete));
}

#[test]
fn a_manual_pause_waits_for_resume() {
    let r = rollout(
        &[
            (StepTarget::Members(2), 0),
            (StepTarget::Pause, 0),
            (StepTarget::Percent(100), 0),
        ],
        OnFailure::Pause,
    );
    let d = pass(&r, None, &observed(&[], true), 0);
    let o = observed(&done(2), true);
    let d = pass(&r, Some(d.memory), &o, 10);
    assert_eq!(d.status.phase, Phase::Paused);
    assert_eq!(d.status.step, 2);
    assert!(!d.status.phase.degraded());
    assert!(
        d.status
            .reason
            .as_deref()
            .unwrap()
            .contains("step 2 of 3 is a manual pause; run handover resume")
    );
    assert!(admitted(&d, &o).is_empty());
    // Time alone does not end it.
    let d = pass(&r, Some(d.memory), &o, 100_000);
    assert_eq!(d.status.phase, Phase::Paused);
    let (m, waited) = d.memory.resume(&r);
    assert!(waited);
    let d = pass(&r, m, &o, 100_001);
    assert_eq!(d.status.phase, Phase::Moving);
    assert_eq!(d.status.step, 3);
    assert_eq!(admitted(&d, &o).len(), 8);
}

#[test]
fn a_failed_analysis_with_pause_stops_starting_and_says_why() {
    let r = rollout(
        &[(StepTarget::Members(3), 600), (StepTarget::Percent(100), 0)],
        OnFailure::Pause,
    );
    let d = pass(&r, None, &observed(&[], true), 0);
    // a02 fell back to gw1 (a failover) and gw2 is down.
    let o = observed(&[(1, "gw2"), (2, "gw1"), (3, "gw2")], false);
    let d = pass(&r, Some(d.memory), &o, 50);
    assert_eq!(d.status.phase, Phase::AnalysisFailed);
    assert!(d.status.phase.degraded());
    assert_eq!(d.status.analysis.verdict, VerdictKind::Failed);
    let reasons = d.status.analysis.reasons.join("\n");
    assert!(
        reasons.contains("1 of 3 moved members are not reporting to their new primary (at most 0 may be): a02 (on failover gw1)"),
        "{reasons}"
    );
    assert!(
        reasons.contains("gateway gw2, a new primary, is down"),
        "{reasons}"
    );
    assert!(admitted(&d, &o).is_empty());
    assert!(d.rollback.is_empty());
    // It stays failed on later passes, even when the estate recovers.
    let o = observed(&done(3), true);
    let d = pass(&r, Some(d.memory), &o, 5000);
    assert_eq!(d.status.phase, Phase::AnalysisFailed);
    assert_eq!(d.status.analysis.verdict, VerdictKind::Failed);
    // A resume starts the rollout again over the seven still to move.
    let (m, waited) = d.memory.resume(&r);
    assert!(waited && m.is_none());
    let d = pass(&r, m, &o, 5001);
    assert_eq!(d.memory.total, 7);
    assert_eq!(admitted(&d, &o), ["a04", "a05", "a06"]);
}

#[test]
fn a_threshold_allows_some_failures() {
    let mut r = rollout(&[(StepTarget::Members(3), 600)], OnFailure::Pause);
    r.analysis.max_failures = 1;
    let d = pass(&r, None, &observed(&[], true), 0);
    let o = observed(&[(1, "gw2"), (2, ""), (3, "gw2")], true);
    let d = pass(&r, Some(d.memory), &o, 50);
    assert_eq!(d.status.analysis.verdict, VerdictKind::Passing);
    assert_eq!(analysis::allowance(&r.analysis, 40), 1);
    r.analysis.max_failure_percent = Some(10);
    assert_eq!(analysis::allowance(&r.analysis, 40), 4);
}

#[test]
fn a_rollback_moves_the_failed_members_back_to_their_parents_from_before() {
    let r = rollout(
        &[(StepTarget::Members(3), 600), (StepTarget::Percent(100), 0)],
        OnFailure::Rollback,
    );
    let d = pass(&r, None, &observed(&[], true), 0);
    let o = observed(&[(1, "gw1"), (2, "gw1"), (3, "")], false);
    let d = pass(&r, Some(d.memory), &o, 50);
    assert_eq!(d.status.phase, Phase::RollingBack);
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, Event::RollbackStarted { members, .. } if members.len() == 3))
    );
    // The desired state the planner sees has their old parents back.
    let des = desired();
    let a = assign::resolve(&des, &o).unwrap();
    let (rd, ra) = d.apply(&des, &a);
    let a01 = ra.agents.iter().find(|x| x.name.as_str() == "a01").unwrap();
    assert_eq!(a01.parents.primary.as_str(), "gw1");
    let a04 = ra.agents.iter().find(|x| x.name.as_str() == "a04").unwrap();
    assert_eq!(
        a04.parents.primary.as_str(),
        "gw2",
        "others keep the revision"
    );
    // Held back: a04..a10; admitted: the three going back.
    let (hd, ha, held) = hold(&rd, &o, &ra, &|s| d.admits(s));
    assert_eq!(held.len(), 7);
    let plan = plan_assigned(&hd, &o, &ha);
    assert!(plan.steps.iter().any(|s| matches!(&s.action,
        Action::SetParents { name, primary, .. } if name.as_str() == "a01" && primary.as_str() == "gw1")));
    // Once they are back, the rollout is rolled back and stays so.
    let o = observed(&[], false);
    let d = pass(&r, Some(d.memory), &o, 500);
    assert_eq!(d.status.phase, Phase::RolledBack);
    assert!(d.events.contains(&Event::RolledBack { step: 1 }));
    assert!(
        admitted(&d, &o)
            .iter()
            .all(|n| ["a01", "a02", "a03"].contains(&n.as_str()))
    );
    let d = pass(&r, Some(d.memory), &o, 50_000);
    assert_eq!(d.status.phase, Phase::RolledBack);
    assert_eq!(d.rollback.len(), 3, "the rollback stays in force");
}

#[test]
fn losing_the_memory_starts_over_with_smaller_steps() {
    let r = rollout(
        &[
            (StepTarget::Percent(50), 600),
            (StepTarget::Percent(100), 0),
        ],
        OnFailure::Pause,
    );
    let d = pass(&r, None, &observed(&[], true), 0);
    assert_eq!(admitted(&d, &observed(&[], true)).len(), 5);
    // After a restart without memory, with four moved and one in a bridge:
    // the five still to move are the whole revision now; half of them is 3.
    let mut moved = done(4);
    moved.push((5, "gw1"));
    let o = observed(&moved, true);
    let d = pass(&r, None, &o, 10);
    assert_eq!(d.memory.total, 5);
    assert_eq!(admitted(&d, &o), ["a06", "a07", "a08"]);
    // A new revision forgets the old memory too.
    let des = desired();
    let a = assign::resolve(&des, &o).unwrap();
    let d2 = decide(&r, Some(d.memory), "rev2", &des, &o, &a, 20);
    assert_eq!(d2.memory.revision, "rev2");
    assert_eq!(d2.memory.step, 0);
}

#[test]
fn a_first_step_that_pauses_starts_nothing() {
    let r = rollout(
        &[(StepTarget::Pause, 0), (StepTarget::Percent(100), 0)],
        OnFailure::Pause,
    );
    let o = observed(&[], true);
    let d = pass(&r, None, &o, 0);
    assert_eq!(d.status.phase, Phase::Paused);
    assert!(admitted(&d, &o).is_empty());
}

#[test]
fn a_new_parent_in_critical_health_pauses_the_rollout_and_says_which() {
    let mut r = rollout(
        &[(StepTarget::Members(3), 600), (StepTarget::Percent(100), 0)],
        OnFailure::Pause,
    );
    r.analysis.fail_on_health = Some(crate::model::HealthState::Critical);
    let d = pass(&r, None, &observed(&[], true), 0);
    let mut o = observed(&done(3), true);
    let gw2: Name = "gw2".parse().unwrap();
    o.health.insert(
        gw2.clone(),
        crate::model::Health {
            state: Some(crate::model::HealthState::Warning),
            send_queue_size: None,
        },
    );
    let d = pass(&r, Some(d.memory), &o, 50);
    assert_eq!(d.status.phase, Phase::Soaking, "warning is within bounds");
    o.health.get_mut(&gw2).unwrap().state = Some(crate::model::HealthState::Critical);
    let d = pass(&r, Some(d.memory), &o, 100);
    assert_eq!(d.status.phase, Phase::AnalysisFailed);
    assert_eq!(
        d.status.analysis.reasons,
        ["gateway gw2, a new primary, reports health critical (the analysis fails on critical)"]
    );
    assert!(admitted(&d, &o).is_empty());
}
