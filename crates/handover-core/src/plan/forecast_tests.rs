//! Tests of [`super::forecast`]: a plan worked out by hand, the floor,
//! providers without sessions, timeouts, and the monotonicity properties.

use super::*;
use crate::model::{MemberKind, Millis, Poll, Seconds};
use crate::name::Name;
use crate::plan::{Step, types::Action};
use proptest::prelude::*;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// A plan moving `n` agents from gw1 to gw2 make-before-break; with
/// `gateway`, gw9 moves first and every agent's bridge waits for it to
/// connect to its new primary.
fn moves(n: usize, gateway: bool) -> Plan {
    let mut steps = Vec::new();
    let mut id = 0;
    let mut step = |action: Action, after: Vec<u32>, steps: &mut Vec<Step>| {
        id += 1;
        steps.push(Step { id, action, after });
        id
    };
    let gw_ack = gateway.then(|| {
        let g = name("gw9.contoso.local");
        let b = step(
            Action::SetParents {
                kind: MemberKind::Gateway,
                name: g.clone(),
                primary: name("ms2.contoso.local"),
                failover: vec![name("ms1.contoso.local")],
                bridge: true,
            },
            vec![],
            &mut steps,
        );
        let a = step(
            Action::AwaitConnected {
                kind: MemberKind::Gateway,
                name: g.clone(),
                server: name("ms2.contoso.local"),
            },
            vec![b],
            &mut steps,
        );
        step(
            Action::SetParents {
                kind: MemberKind::Gateway,
                name: g,
                primary: name("ms2.contoso.local"),
                failover: vec![],
                bridge: false,
            },
            vec![a],
            &mut steps,
        );
        a
    });
    for k in 0..n {
        let m = name(&format!("a{k:05}.contoso.local"));
        let b = step(
            Action::SetParents {
                kind: MemberKind::Agent,
                name: m.clone(),
                primary: name("gw2.contoso.local"),
                failover: vec![name("gw1.contoso.local")],
                bridge: true,
            },
            gw_ack.into_iter().collect(),
            &mut steps,
        );
        let a = step(
            Action::AwaitConnected {
                kind: MemberKind::Agent,
                name: m.clone(),
                server: name("gw2.contoso.local"),
            },
            vec![b],
            &mut steps,
        );
        step(
            Action::SetParents {
                kind: MemberKind::Agent,
                name: m,
                primary: name("gw2.contoso.local"),
                failover: vec![],
                bridge: false,
            },
            vec![a],
            &mut steps,
        );
    }
    Plan::new(steps, vec![])
}

/// A window, and the poll backoff the hand-worked examples assume
/// (15 s doubling up to 1 min), whatever the default.
fn policy(window: u32) -> Policy {
    Policy {
        max_in_flight: window,
        poll: Poll {
            interval: Seconds(15),
            max: Seconds(60),
        },
        ..Policy::default()
    }
}

fn cost() -> Cost {
    Cost {
        startup: Millis::secs(5),
        per_call: Millis::secs(1),
        per_operation: Millis::secs(1),
        observe: Millis::secs(30),
        propagation: Millis::secs(300),
        batch: 50,
        parallel: 1,
        sessions: true,
    }
}

#[test]
fn one_wave_worked_out_by_hand() {
    // Observe 30 s; two bridge requests of 50 (51 s each). Polls, 30 s
    // each: at once (0), after 15 s (45), 30 s (105), 60 s (195), 60 s
    // (285), 60 s (375): the last starts after the 300 s propagation and
    // sees them (405 s, 225 s of it asleep). Prunes: two requests, 102 s.
    // Observe at the end, 30 s. Start-ups: capabilities, the first
    // observe, the session: 15 s.
    let f = forecast(&moves(100, false), &policy(500), &cost());
    assert_eq!(f.observe_calls, 8);
    assert_eq!(f.apply_calls, 4);
    assert_eq!(f.operations, 200);
    assert_eq!(f.process_starts, 3);
    assert_eq!(f.waves, 1);
    assert_eq!(f.timed_out, 0);
    assert_eq!(
        f.breakdown,
        Breakdown {
            propagation: 15.0 + 30.0 + 60.0 + 60.0 + 60.0,
            apply: 204.0,
            observe: 240.0,
            startup: 15.0,
            soak: 0.0,
        }
    );
    assert_eq!(f.wall_seconds, 684.0);
    // The floor: one propagation plus 200 operations of 1 s.
    assert_eq!(f.floor_seconds, 500.0);
}

#[test]
fn the_window_makes_waves_and_a_moving_gateway_a_stage() {
    let c = Cost {
        per_call: Millis(0),
        per_operation: Millis(0),
        observe: Millis(0),
        startup: Millis(0),
        ..cost()
    };
    let f = forecast(&moves(1_000, false), &policy(100), &c);
    assert_eq!(f.waves, 10);
    assert_eq!(f.floor_seconds, 10.0 * 300.0);
    let f = forecast(&moves(100, true), &policy(100), &c);
    assert_eq!(f.waves, 2, "the gateway, then its agents");
    assert_eq!(f.floor_seconds, 2.0 * 300.0);
    // With free calls the only extra over the floor is seeing the
    // acknowledgement late: polls at 0, 15, 45, 105, 165, 225, 285, 345.
    assert_eq!(f.wall_seconds, 2.0 * 345.0);
    assert_eq!(f.observe_calls, 2 + 2 * 8);
}

#[test]
fn a_provider_without_sessions_starts_once_per_request() {
    let c = Cost {
        sessions: false,
        ..cost()
    };
    let f = forecast(&moves(10, false), &policy(100), &c);
    assert_eq!(f.apply_calls, 20, "one operation per request");
    assert_eq!(f.process_starts, 20 + f.observe_calls + 1);
    assert_eq!(f.breakdown.startup, 5.0 * f.process_starts as f64);
    let sum =
        f.breakdown.propagation + f.breakdown.apply + f.breakdown.observe + f.breakdown.startup;
    assert_eq!(f.wall_seconds, sum);
}

#[test]
fn members_slower_than_the_ack_timeout_stay_pending() {
    let p = Policy {
        ack_timeout: Seconds(120),
        ..policy(100)
    };
    let f = forecast(&moves(10, false), &p, &cost());
    assert_eq!(f.timed_out, 10);
    assert_eq!(f.operations, 10, "no prunes after a timeout");
}

#[test]
fn parallel_sessions_divide_the_operations_time() {
    let one = forecast(&moves(1_000, false), &policy(1_000), &cost());
    let four = Cost {
        parallel: 4,
        ..cost()
    };
    let four = forecast(&moves(1_000, false), &policy(1_000), &four);
    assert!(
        four.breakdown.apply * 3.9 < one.breakdown.apply,
        "{four:?} {one:?}"
    );
    assert_eq!(four.process_starts, 2 + 4);
}

#[test]
fn an_empty_plan_costs_two_observations() {
    let f = forecast(&Plan::new(vec![], vec![]), &policy(100), &cost());
    assert_eq!(f.observe_calls, 2);
    assert_eq!(f.apply_calls, 0);
    assert_eq!(f.process_starts, 2);
    assert_eq!(f.wall_seconds, 60.0 + 10.0);
    assert_eq!(f.floor_seconds, 0.0);
}

fn costs() -> impl Strategy<Value = Cost> {
    (
        0u64..10_000,
        0u64..5_000,
        0u64..5_000,
        0u64..60_000,
        0u64..900_000,
        1u32..600,
        1u32..5,
        any::<bool>(),
    )
        .prop_map(|(s, c, o, ob, p, batch, parallel, sessions)| Cost {
            startup: Millis(s),
            per_call: Millis(c),
            per_operation: Millis(o),
            observe: Millis(ob),
            propagation: Millis(p),
            batch,
            parallel,
            sessions,
        })
}

fn polls() -> impl Strategy<Value = Policy> {
    (1u32..700, 1u64..120, 0u64..300).prop_map(|(w, i, extra)| Policy {
        max_in_flight: w,
        poll: Poll {
            interval: Seconds(i),
            max: Seconds(i + extra),
        },
        ..Policy::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// More members never forecast less time, fewer calls or fewer starts.
    #[test]
    fn more_members_never_forecast_less(
        n in 0usize..400, more in 0usize..400, gw in any::<bool>(),
        c in costs(), p in polls(),
    ) {
        let a = forecast(&moves(n, gw), &p, &c);
        let b = forecast(&moves(n + more, gw), &p, &c);
        prop_assert!(a.wall_seconds <= b.wall_seconds, "{a:?}\n{b:?}");
        prop_assert!(a.floor_seconds <= b.floor_seconds, "{a:?}\n{b:?}");
        prop_assert!(a.apply_calls <= b.apply_calls);
        if c.sessions {
            // Sessions start as the largest request needs lanes, so a
            // larger estate whose requests split differently may start
            // fewer; never more than `capabilities`, the first
            // observation and one per lane.
            prop_assert!(b.process_starts <= 2 + u64::from(c.parallel), "{b:?}");
        } else {
            prop_assert!(a.process_starts <= b.process_starts);
        }
    }

    /// A larger batch never needs more requests.
    #[test]
    fn a_larger_batch_never_needs_more_calls(
        n in 0usize..600, gw in any::<bool>(), c in costs(), p in polls(), more in 0u32..600,
    ) {
        let small = forecast(&moves(n, gw), &p, &c);
        let big = forecast(&moves(n, gw), &p, &Cost { batch: c.batch + more, ..c });
        prop_assert!(big.apply_calls <= small.apply_calls, "{small:?}\n{big:?}");
    }

    /// The parts add up to the whole, and the whole is never below the floor.
    #[test]
    fn the_breakdown_adds_up_and_respects_the_floor(
        n in 0usize..400, gw in any::<bool>(), c in costs(), p in polls(),
    ) {
        let f = forecast(&moves(n, gw), &p, &c);
        let b = &f.breakdown;
        prop_assert!((b.propagation + b.apply + b.observe + b.startup - f.wall_seconds).abs() < 1e-6);
        prop_assert!(f.wall_seconds + 1e-6 >= f.floor_seconds, "{f:?}");
    }
}

#[test]
fn members_found_in_their_bridge_wait_and_direct_writes_do_not() {
    let a = name("a1.contoso.local");
    let gw2 = name("gw2.contoso.local");
    // Bridged by an earlier run: await, then prune.
    let found = Plan::new(
        vec![
            Step {
                id: 1,
                action: Action::AwaitConnected {
                    kind: MemberKind::Agent,
                    name: a.clone(),
                    server: gw2.clone(),
                },
                after: vec![],
            },
            Step {
                id: 2,
                action: Action::SetParents {
                    kind: MemberKind::Agent,
                    name: a.clone(),
                    primary: gw2.clone(),
                    failover: vec![],
                    bridge: false,
                },
                after: vec![1],
            },
        ],
        vec![],
    );
    let f = forecast(&found, &policy(100), &cost());
    assert_eq!((f.waves, f.operations, f.apply_calls), (1, 1, 1));
    assert_eq!(f.floor_seconds, 300.0 + 1.0);
    // A write that removes nothing the member talks to: one step, no wait.
    let direct = Plan::new(
        vec![Step {
            id: 1,
            action: Action::SetParents {
                kind: MemberKind::Agent,
                name: a,
                primary: gw2,
                failover: vec![],
                bridge: false,
            },
            after: vec![],
        }],
        vec![],
    );
    let f = forecast(&direct, &policy(100), &cost());
    assert_eq!((f.waves, f.operations, f.apply_calls), (0, 1, 1));
    assert_eq!(f.observe_calls, 2, "no poll without an await");
    assert_eq!(f.breakdown.propagation, 0.0);
}

#[test]
fn a_rollouts_soaks_are_waited_for_and_a_manual_pause_is_not_counted() {
    use crate::model::{Rollout, Step as RolloutStep, StepTarget};
    let plain = forecast(&moves(100, false), &policy(500), &cost());
    let mut p = policy(500);
    p.rollout = Some(Box::new(Rollout {
        steps: vec![
            RolloutStep {
                target: StepTarget::Members(20),
                soak: Seconds(15 * 60),
            },
            RolloutStep {
                target: StepTarget::Pause,
                soak: Seconds(0),
            },
            RolloutStep {
                target: StepTarget::Percent(100),
                soak: Seconds(30 * 60),
            },
        ],
        analysis: Default::default(),
        on_failure: Default::default(),
    }));
    let f = forecast(&moves(100, false), &p, &cost());
    assert_eq!(f.breakdown.soak, 45.0 * 60.0);
    assert_eq!(f.wall_seconds, plain.wall_seconds + 45.0 * 60.0);
    assert_eq!(f.floor_seconds, plain.floor_seconds + 45.0 * 60.0);
    // Nothing to move: nothing soaks.
    let empty = forecast(&moves(0, false), &p, &cost());
    assert_eq!(empty.breakdown.soak, 0.0);
}
