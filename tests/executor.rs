//! The executor core against a deterministic fake target: window, ack
//! timeouts, in-flight members, retries, permanent errors, skips,
//! cancellation, causal order, store steps, determinism.

mod exec_fake;

use exec_fake::*;
use handover::execute::{
    Cancel, EngineOptions, EngineReport, ProgressEvent, RetryPolicy, Silent, StepOutcome,
    apply_plan,
};
use handover::model::MemberKind;
use handover::plan::{Action, FailoverMode};
use handover::provider::{Operation, Scope};
use std::time::Duration;

fn opts(max: u32) -> EngineOptions {
    EngineOptions {
        max_in_flight: max,
        ack_timeout: Duration::from_secs(600),
        poll_interval: Duration::from_secs(15),
        ..EngineOptions::default()
    }
}

async fn run(fake: &mut Fake, plan: &handover::plan::Plan, o: &EngineOptions) -> EngineReport {
    let start = fake.observed();
    apply_plan(fake, plan, o, &start, &mut Silent).await
}

fn outcome(r: &EngineReport, id: u32) -> &StepOutcome {
    &r.steps.iter().find(|s| s.id == id).unwrap().outcome
}

fn moving_plan(agents: usize) -> handover::plan::Plan {
    let mut b = PlanBuilder::default();
    for i in 0..agents {
        b.mbb(&agent(i), "gw1", "gw2", &[]);
    }
    b.build()
}

#[tokio::test]
async fn window_is_never_exceeded_and_everyone_moves() {
    let mut fake = Fake::estate(20);
    let r = run(&mut fake, &moving_plan(20), &opts(3)).await;
    assert_eq!(
        fake.max_bridged, 3,
        "the fake saw {} bridged",
        fake.max_bridged
    );
    assert_eq!(r.max_in_flight, 3);
    assert!(fake.bridged.is_empty());
    assert!(fake.violations.is_empty(), "{:?}", fake.violations);
    assert!(fake.stranded.is_empty());
    assert_eq!((r.bridged, r.acknowledged, r.pruned), (20, 20, 20));
    assert_eq!(r.steps_applied, 40);
    assert_eq!(r.provider_calls, 40);
    assert!(r.pending.is_empty() && r.failed.is_empty() && !r.cancelled);
    for i in 0..20 {
        let m = &fake.members[&agent(i)];
        assert_eq!(m.parents, p("gw2", &[]));
        assert_eq!(m.connected, Some(n("gw2")));
    }
    // Polls read only the in-flight members, never the whole estate.
    assert!(!fake.scopes.is_empty());
    for s in &fake.scopes {
        match s {
            Scope::Members(v) => assert!(v.len() <= 3, "polled {} members", v.len()),
            Scope::All => panic!("a poll re-observed the whole estate"),
        }
    }
}

#[tokio::test]
async fn ack_timeout_leaves_member_pending_in_its_bridge_and_frees_its_place() {
    let mut fake = Fake::estate(2);
    fake.never_ack.insert(agent(0));
    let plan = moving_plan(2);
    let o = opts(1);
    let r = run(&mut fake, &plan, &o).await;
    assert_eq!(r.pending, vec![agent(0)]);
    assert_eq!(r.in_bridge, vec![agent(0)]);
    assert_eq!(outcome(&r, 2), &StepOutcome::TimedOut);
    assert!(matches!(outcome(&r, 3), StepOutcome::NotStarted { .. }));
    // a01 got the freed place only after a00 timed out, and finished.
    let (t_b, _) = fake
        .applied
        .iter()
        .find(|(_, op)| matches!(op, Operation::SetParents { name, .. } if *name == agent(1)))
        .unwrap();
    assert!(*t_b >= o.ack_timeout, "a01 bridged at {t_b:?}");
    assert_eq!(outcome(&r, 6), &StepOutcome::Applied);
    // a00 stays bridged: old parent kept, never pruned, not stranded.
    assert_eq!(fake.members[&agent(0)].parents, p("gw2", &["gw1"]));
    assert_eq!(fake.members[&agent(0)].connected, Some(n("gw1")));
    assert!(fake.violations.is_empty());
    // Rule 5: the pending member keeps its bridge but not its place, so the
    // estate holds two bridges while the executor's window held one.
    assert_eq!(fake.max_bridged, 2);
    assert_eq!(r.max_in_flight, 1);
}

#[tokio::test]
async fn members_found_in_a_bridge_take_the_window_first() {
    let mut fake = Fake::estate(3);
    // a00 is already in a bridge, still talking to gw1.
    fake.members.get_mut(&agent(0)).unwrap().parents = p("gw2", &["gw1"]);
    fake.members.get_mut(&agent(0)).unwrap().connect_at =
        Some((Duration::from_secs(100), n("gw2")));
    fake.bridged.insert(agent(0));
    let mut b = PlanBuilder::default();
    // Bridges for a01 and a02 come first in the plan; a00's await later.
    b.mbb(&agent(1), "gw1", "gw2", &[]);
    b.mbb(&agent(2), "gw1", "gw2", &[]);
    let w = b.push(await_on(&agent(0), "gw2"), &[]);
    let prune = b.push(set(&agent(0), "gw2", &[], false), &[w]);
    let r = run(&mut fake, &b.build(), &opts(1)).await;
    assert_eq!(r.found_in_flight, 1);
    assert_eq!(fake.max_bridged, 1);
    let pos = |pred: &dyn Fn(&Operation) -> bool| fake.applied.iter().position(|(_, o)| pred(o));
    let pruned0 = pos(&|o| matches!(o, Operation::SetParents { name, parents, .. } if *name == agent(0) && parents.failover.is_empty())).unwrap();
    let bridged1 =
        pos(&|o| matches!(o, Operation::SetParents { name, .. } if *name == agent(1))).unwrap();
    assert!(
        pruned0 < bridged1,
        "a01 was bridged before a00 left the window"
    );
    assert_eq!(outcome(&r, prune), &StepOutcome::Applied);
    assert_eq!(r.pruned, 3);
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_then_succeed() {
    let mut fake = Fake::estate(1);
    fake.transient.insert(agent(0), 2);
    let mut o = opts(5);
    o.retry = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_secs(10),
        max_delay: Duration::from_secs(60),
    };
    let r = run(&mut fake, &moving_plan(1), &o).await;
    let bridge = r.steps.iter().find(|s| s.id == 1).unwrap();
    assert_eq!(bridge.outcome, StepOutcome::Applied);
    assert_eq!(bridge.attempts, 3);
    assert_eq!(r.retries, 2);
    assert_eq!(r.provider_calls, 4); // 3 for the bridge, 1 for the prune
    assert_eq!(fake.apply_calls, 4);
    // Backoff slept on the clock: 10 s then 20 s, each jittered to ≥ half.
    let (t, _) = &fake.applied[0];
    assert!(
        *t >= Duration::from_secs(15) && *t <= Duration::from_secs(30),
        "{t:?}"
    );
    assert_eq!(fake.members[&agent(0)].parents, p("gw2", &[]));
}

#[tokio::test]
async fn exhausted_retries_fail_the_chain() {
    let mut fake = Fake::estate(1);
    fake.transient.insert(agent(0), 10);
    let mut o = opts(5);
    o.retry.max_attempts = 3;
    let r = run(&mut fake, &moving_plan(1), &o).await;
    assert!(matches!(outcome(&r, 1), StepOutcome::Failed { .. }));
    assert_eq!(r.provider_calls, 3);
    assert_eq!(r.failed, vec![agent(0)]);
}

#[tokio::test]
async fn a_permanent_error_stops_only_that_members_chain() {
    let mut fake = Fake::estate(3);
    fake.permanent.insert(agent(1));
    let r = run(&mut fake, &moving_plan(3), &opts(1)).await;
    assert!(
        matches!(outcome(&r, 4), StepOutcome::Failed { reason } if reason.contains("access denied"))
    );
    assert!(matches!(outcome(&r, 5), StepOutcome::NotStarted { .. }));
    assert!(matches!(outcome(&r, 6), StepOutcome::NotStarted { .. }));
    assert_eq!(r.failed, vec![agent(1)]);
    assert_eq!(fake.apply_calls, 5, "one refused call, no retries");
    for i in [0, 2] {
        assert_eq!(fake.members[&agent(i)].parents, p("gw2", &[]));
    }
    assert_eq!(fake.members[&agent(1)].parents, p("gw1", &[]));
    assert_eq!(r.pruned, 2);
}

#[tokio::test]
async fn a_step_whose_effect_holds_is_skipped() {
    let mut fake = Fake::estate(2);
    // a01 already has its final parents and is connected there.
    fake.members.get_mut(&agent(1)).unwrap().parents = p("gw2", &[]);
    fake.members.get_mut(&agent(1)).unwrap().connected = Some(n("gw2"));
    let mut b = PlanBuilder::default();
    b.mbb(&agent(0), "gw1", "gw2", &[]);
    let s = b.push(set(&agent(1), "gw2", &[], false), &[]);
    let r = run(&mut fake, &b.build(), &opts(5)).await;
    assert_eq!(outcome(&r, s), &StepOutcome::Skipped);
    assert_eq!(r.skipped, 1);
    assert_eq!(r.provider_calls, 2);
    assert!(
        !fake
            .applied
            .iter()
            .any(|(_, o)| matches!(o, Operation::SetParents { name, .. } if *name == agent(1)))
    );
}

#[tokio::test]
async fn cancellation_stops_new_steps_and_prunes_nothing_unacknowledged() {
    let mut fake = Fake::estate(6);
    let cancel = Cancel::new();
    let mut o = opts(3);
    o.cancel = cancel.clone();
    let start = fake.observed();
    let mut bridged = 0;
    let mut hook = |e: &ProgressEvent| {
        if let ProgressEvent::Bridged(_) = e {
            bridged += 1;
            if bridged == 2 {
                cancel.cancel();
            }
        }
    };
    let r = apply_plan(&mut fake, &moving_plan(6), &o, &start, &mut hook).await;
    assert!(r.cancelled);
    assert_eq!(r.bridged, 2);
    assert_eq!(r.pruned, 0);
    assert_eq!(r.in_bridge, vec![agent(0), agent(1)]);
    assert!(fake.violations.is_empty() && fake.stranded.is_empty());
    // Every member is either untouched or in its bridge.
    for i in 0..6 {
        let parents = &fake.members[&agent(i)].parents;
        assert!(
            *parents == p("gw1", &[]) || *parents == p("gw2", &["gw1"]),
            "{parents:?}"
        );
    }
    let not_started = r.count(
        |o| matches!(o, StepOutcome::NotStarted { reason } if reason.starts_with("cancelled")),
    );
    assert_eq!(not_started, 18 - 2);
}

#[tokio::test]
async fn after_is_honoured_even_across_members() {
    let mut fake = Fake::estate(3);
    // gw2 is not ready until 300 s.
    fake.members.get_mut(&n("gw2")).unwrap().ready = false;
    fake.scheduled
        .push((Duration::from_secs(300), Event::Ready(n("gw2"))));
    let mut b = PlanBuilder::default();
    let ready = b.push(
        Action::AwaitReady {
            kind: MemberKind::Gateway,
            name: n("gw2"),
        },
        &[],
    );
    for i in 0..3 {
        b.mbb(&agent(i), "gw1", "gw2", &[ready]);
    }
    let r = run(&mut fake, &b.build(), &opts(10)).await;
    assert_eq!(outcome(&r, ready), &StepOutcome::Satisfied);
    for (t, _) in &fake.applied {
        assert!(
            *t >= Duration::from_secs(300),
            "a step ran at {t:?}, before gw2 was ready"
        );
    }
    assert_eq!(r.pruned, 3);
    assert!(fake.violations.is_empty());
}

#[tokio::test]
async fn a_timed_out_dependency_keeps_dependents_from_starting() {
    let mut fake = Fake::estate(1);
    fake.members.get_mut(&n("gw2")).unwrap().ready = false;
    let mut b = PlanBuilder::default();
    let ready = b.push(
        Action::AwaitReady {
            kind: MemberKind::Gateway,
            name: n("gw2"),
        },
        &[],
    );
    b.mbb(&agent(0), "gw1", "gw2", &[ready]);
    let r = run(&mut fake, &b.build(), &opts(10)).await;
    assert_eq!(outcome(&r, ready), &StepOutcome::TimedOut);
    assert!(
        matches!(outcome(&r, 2), StepOutcome::NotStarted { reason } if reason.contains("step 1"))
    );
    // gw2 timed out; the agent that waits for it did not start and is
    // reported as waiting (safe where it is, but not done).
    assert_eq!(r.pending, vec![n("gw2")]);
    assert_eq!(r.waiting, vec![agent(0)]);
    assert_eq!(fake.apply_calls, 0);
}

#[tokio::test]
async fn store_failover_waits_for_replication_then_activity() {
    let mut fake = Fake::estate(0);
    fake.store = Some(handover::model::ObservedStore {
        active_pool: Some(n("pool1")),
        pools: vec![pool("pool1", true), pool("pool2", true)],
        replication_complete: false,
    });
    fake.scheduled
        .push((Duration::from_secs(120), Event::Replicated));
    let mut b = PlanBuilder::default();
    let rep = b.push(Action::AwaitReplication { pool: n("pool2") }, &[]);
    let fo = b.push(
        Action::StoreFailover {
            pool: n("pool2"),
            mode: FailoverMode::Planned,
            backup_sql_server: None,
            backup_sql_instance: None,
            backup_mirror_sql_server: None,
            backup_mirror_sql_instance: None,
            restore: false,
        },
        &[rep],
    );
    let act = b.push(Action::AwaitStoreActive { pool: n("pool2") }, &[fo]);
    let r = run(&mut fake, &b.build(), &opts(10)).await;
    assert_eq!(outcome(&r, act), &StepOutcome::Satisfied);
    let (t, _) = &fake.applied[0];
    assert!(*t >= Duration::from_secs(120));
    assert_eq!(fake.store.as_ref().unwrap().active_pool, Some(n("pool2")));
    // Run again from the result: the failover is skipped (idempotent).
    let r2 = run(&mut fake, &b_store_again(), &opts(10)).await;
    assert_eq!(r2.skipped, 1);
}

fn b_store_again() -> handover::plan::Plan {
    let mut b = PlanBuilder::default();
    b.push(
        Action::StoreFailover {
            pool: n("pool2"),
            mode: FailoverMode::Planned,
            backup_sql_server: None,
            backup_sql_instance: None,
            backup_mirror_sql_server: None,
            backup_mirror_sql_instance: None,
            restore: false,
        },
        &[],
    );
    b.build()
}

#[tokio::test]
async fn same_seed_same_run() {
    async fn once(seed: u64) -> (EngineReport, Vec<(Duration, Operation)>) {
        let mut fake = Fake::estate(8);
        for i in 0..8 {
            fake.transient.insert(agent(i), (i % 3) as u32);
        }
        let mut o = opts(3);
        o.seed = seed;
        let r = run(&mut fake, &moving_plan(8), &o).await;
        (r, fake.applied)
    }
    let (a, la) = once(42).await;
    let (b, lb) = once(42).await;
    assert_eq!(a, b);
    assert_eq!(la, lb);
    let (c, _) = once(43).await;
    assert_ne!(
        a.clock_seconds, c.clock_seconds,
        "jitter should depend on the seed"
    );
}

#[tokio::test]
async fn report_json_shape() {
    let mut fake = Fake::estate(3);
    fake.never_ack.insert(agent(1));
    fake.permanent.insert(agent(2));
    let mut b = PlanBuilder::default();
    let pruned = b.mbb(&agent(0), "gw1", "gw2", &[]);
    b.mbb(&agent(1), "gw1", "gw2", &[]);
    b.mbb(&agent(2), "gw1", "gw2", &[]);
    // Already holds once a00 is pruned: skipped.
    b.push(set(&agent(0), "gw2", &[], false), &[pruned]);
    let mut o = opts(2);
    o.ack_timeout = Duration::from_secs(120);
    let r = run(&mut fake, &b.build(), &o).await;
    insta::assert_json_snapshot!("exec_report", r);
}
