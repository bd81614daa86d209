//! The rehearsal loop against the fake target: converging, stopping when
//! nothing can progress, waiting for scheduled events, the direct strategy's
//! hazard, the verdict and its exit code, determinism.

mod exec_fake;

use exec_fake::*;
use handover::execute::{
    ConvergeOptions, EngineOptions, ProgressEvent, RehearsalReport, Silent, StopReason, converge,
};
use handover::model::Topology;
use std::time::Duration;

fn copts(max: u32) -> ConvergeOptions {
    ConvergeOptions {
        exec: EngineOptions {
            max_in_flight: max,
            ack_timeout: Duration::from_secs(600),
            ..EngineOptions::default()
        },
        ..ConvergeOptions::default()
    }
}

fn names(k: usize) -> Vec<handover::name::Name> {
    (0..k).map(agent).collect()
}

async fn rehearse(fake: &mut Fake, desired: &Topology, o: &ConvergeOptions) -> RehearsalReport {
    converge(fake, desired, mini_planner, o, &mut Silent).await
}

#[tokio::test]
async fn make_before_break_converges_within_the_window() {
    let mut fake = Fake::estate(10);
    let desired = desired(&names(10), "gw2");
    let r = rehearse(&mut fake, &desired, &copts(4)).await;
    assert!(r.converged, "{r:?}");
    assert_eq!(r.stop, StopReason::Converged);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.moved, 10);
    assert_eq!(r.max_in_flight, 4);
    assert_eq!(fake.max_bridged, 4);
    assert_eq!(r.executor_max_in_flight, 4);
    assert_eq!(r.steps_applied, 20);
    assert_eq!(r.provider_calls, 20);
    assert!(r.stranded.is_empty() && r.pending.is_empty() && r.blocked.is_empty());
    assert!(r.virtual_seconds > 0.0);
    assert_eq!(
        r.passes, 2,
        "one pass moves everyone, the next finds nothing to do"
    );
}

#[tokio::test]
async fn stops_when_nothing_can_progress_and_reports_pending() {
    let mut fake = Fake::estate(3);
    fake.never_ack.insert(agent(2));
    let desired = desired(&names(3), "gw2");
    let r = rehearse(&mut fake, &desired, &copts(10)).await;
    assert!(!r.converged);
    assert_eq!(r.stop, StopReason::NoProgress);
    assert_eq!(r.pending, vec![agent(2)]);
    assert!(r.stranded.is_empty());
    assert_eq!(r.exit_code(), 3);
    assert!(r.passes < 10, "took {} passes", r.passes);
    // Pass 1 bridges and times out, pass 2 waits again (the plan changed to
    // await + prune), pass 3 sees no change and stops.
    assert_eq!(r.passes, 3);
}

#[tokio::test]
async fn waits_for_a_scheduled_event_before_giving_up() {
    let mut fake = Fake::estate(2);
    // a01 is offline until 2 h: it cannot acknowledge before.
    fake.offline.insert(agent(1));
    fake.members.get_mut(&agent(1)).unwrap().connected = None;
    fake.scheduled
        .push((Duration::from_secs(7200), Event::Online(agent(1))));
    let desired = desired(&names(2), "gw2");
    let r = rehearse(&mut fake, &desired, &copts(10)).await;
    assert!(r.converged, "{r:?}");
    assert!(r.virtual_seconds >= 7200.0);
    assert!(fake.scheduled.is_empty());
    assert!(fake.violations.is_empty());
}

#[tokio::test]
async fn direct_strands_members_whose_connected_parent_is_dropped() {
    let mut fake = Fake::estate(5);
    let desired = desired(&names(5), "gw2");
    let r = converge(
        &mut fake,
        &desired,
        handover::plan::direct::plan,
        &copts(10),
        &mut Silent,
    )
    .await;
    assert_eq!(r.stranded, names(5));
    assert!(!r.converged);
    assert_eq!(r.exit_code(), 4);
    assert_eq!(r.moved, 5);
    assert_eq!(r.max_in_flight, 0, "direct never bridges");
    assert_eq!(r.stop, StopReason::NoProgress);
}

#[tokio::test]
async fn blocked_members_are_reported_once_each() {
    let mut fake = Fake::estate(1);
    let mut d = desired(&names(1), "gw2");
    // ghost is desired but not in the management group: direct blocks it.
    d.agents.push(handover::model::MemberDef {
        name: n("ghost"),
        parents: p("gw2", &[]),
        pos: Default::default(),
        primary_pos: Default::default(),
        failover_pos: vec![],
    });
    fake.members.get_mut(&agent(0)).unwrap().parents = p("gw2", &[]);
    fake.members.get_mut(&agent(0)).unwrap().connected = Some(n("gw2"));
    let r = converge(
        &mut fake,
        &d,
        handover::plan::direct::plan,
        &copts(10),
        &mut Silent,
    )
    .await;
    assert_eq!(r.blocked, vec![n("ghost")]);
    assert!(!r.converged);
    assert_eq!(r.exit_code(), 3);
}

#[tokio::test]
async fn progress_reports_each_wave() {
    let mut fake = Fake::estate(4);
    let desired = desired(&names(4), "gw2");
    let mut events = Vec::new();
    let mut hook = |e: &ProgressEvent| events.push(e.clone());
    let r = converge(&mut fake, &desired, mini_planner, &copts(2), &mut hook).await;
    assert!(r.converged);
    let count = |f: fn(&ProgressEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, ProgressEvent::Bridged(_))), 4);
    assert_eq!(count(|e| matches!(e, ProgressEvent::Acknowledged(_))), 4);
    assert_eq!(count(|e| matches!(e, ProgressEvent::Pruned(_))), 4);
    assert_eq!(count(|e| matches!(e, ProgressEvent::PassStarted { .. })), 1);
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::PassFinished { applied: 8, .. })
    ));
}

#[tokio::test]
async fn a_rehearsal_is_deterministic_for_a_seed() {
    async fn once(seed: u64) -> (RehearsalReport, String) {
        let mut fake = Fake::estate(12);
        for i in 0..12 {
            fake.transient.insert(agent(i), (i % 4) as u32);
        }
        fake.never_ack.insert(agent(7));
        let desired = desired(&names(12), "gw2");
        let mut o = copts(5);
        o.exec.seed = seed;
        let r = rehearse(&mut fake, &desired, &o).await;
        (r, format!("{:?}", fake.applied))
    }
    let (a, la) = once(9).await;
    let (b, lb) = once(9).await;
    assert_eq!(a, b);
    assert_eq!(la, lb);
    assert_eq!(
        serde_json::to_string(&a.summary("make-before-break")).unwrap(),
        serde_json::to_string(&b.summary("make-before-break")).unwrap()
    );
}

#[tokio::test]
async fn summary_keys_are_in_spec_order() {
    let mut fake = Fake::estate(1);
    let desired = desired(&names(1), "gw2");
    let r = rehearse(&mut fake, &desired, &copts(1)).await;
    let json = serde_json::to_string(&r.summary("make-before-break")).unwrap();
    let keys = [
        "strategy",
        "converged",
        "stranded",
        "pending",
        "blocked",
        "moved",
        "max_in_flight",
        "steps_applied",
        "provider_calls",
        "virtual_seconds",
    ];
    let mut last = 0;
    for k in keys {
        let at = json
            .find(&format!("\"{k}\""))
            .unwrap_or_else(|| panic!("{k} missing"));
        assert!(at >= last, "{k} out of order in {json}");
        last = at;
    }
    assert!(json.starts_with("{\"strategy\":\"make-before-break\",\"converged\":true,"));
}

#[tokio::test]
async fn the_pass_bound_and_cancellation_stop_the_cycle() {
    let mut fake = Fake::estate(2);
    fake.never_ack.insert(agent(0));
    let desired = desired(&names(2), "gw2");
    let mut o = copts(5);
    o.max_passes = 1;
    let r = rehearse(&mut fake, &desired, &o).await;
    assert_eq!(r.stop, StopReason::PassLimit);
    assert_eq!(r.passes, 1);
    assert_eq!(r.pending, vec![agent(0)]);
    assert_eq!(r.exit_code(), 3);

    let mut fake = Fake::estate(2);
    let o = copts(5);
    o.exec.cancel.cancel();
    let r = rehearse(&mut fake, &desired, &o).await;
    assert_eq!(r.stop, StopReason::Cancelled);
    assert_eq!((r.passes, r.provider_calls), (0, 0));
    assert!(!r.converged);
}
