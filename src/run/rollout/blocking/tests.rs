use super::*;
use crate::plan::rollout::{Verdict, VerdictKind};
use std::path::Path;

fn example() -> (Topology, Observed) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rollout-overload");
    (
        crate::load::topology(&[dir.join("pause.yaml")]).unwrap(),
        crate::load::observed(&dir.join("observed.yaml")).unwrap(),
    )
}

fn status(phase: Phase, soak_until: Option<u64>) -> Status {
    Status {
        step: 2,
        steps: 3,
        phase,
        soak_until,
        analysis: Verdict::pending(),
        reason: None,
    }
}

/// A plan with nothing to do.
fn empty() -> Plan {
    let (d, o) = example();
    let mut p = crate::plan::plan(&d, &o);
    p.steps.clear();
    p.blocked.clear();
    p
}

const POLL: Duration = Duration::from_secs(15);
const ACK: Duration = Duration::from_secs(600);

#[test]
fn a_plan_with_steps_is_applied_whatever_the_phase() {
    let (d, o) = example();
    let plan = crate::plan::plan(&d, &o);
    assert!(!plan.steps.is_empty());
    for phase in Phase::ALL {
        assert_eq!(
            next(&status(phase, None), &plan, 0, 0, POLL, ACK),
            Next::Apply
        );
    }
}

#[test]
fn with_nothing_to_apply_a_soak_is_waited_out_one_poll_at_a_time() {
    let empty = empty();
    let s = status(Phase::Soaking, Some(100));
    assert_eq!(next(&s, &empty, 0, 0, POLL, ACK), Next::Wait(POLL));
    // The last stretch waits only for what is left of the soak.
    assert_eq!(
        next(&s, &empty, 95, 0, POLL, ACK),
        Next::Wait(Duration::from_secs(5))
    );
}

#[test]
fn with_nothing_to_apply_a_holding_or_complete_rollout_stops() {
    let empty = empty();
    assert_eq!(
        next(&status(Phase::Complete, None), &empty, 0, 0, POLL, ACK),
        Next::Stop(Stop::Complete)
    );
    for phase in [Phase::Paused, Phase::AnalysisFailed, Phase::RolledBack] {
        assert_eq!(
            next(&status(phase, None), &empty, 0, 0, POLL, ACK),
            Next::Stop(Stop::Held),
            "{phase:?}"
        );
    }
}

#[test]
fn members_still_settling_are_waited_for_up_to_the_ack_timeout() {
    let empty = empty();
    let s = status(Phase::Moving, None);
    assert_eq!(next(&s, &empty, 599, 0, POLL, ACK), Next::Wait(POLL));
    let Next::Stop(Stop::Stuck(why)) = next(&s, &empty, 600, 0, POLL, ACK) else {
        panic!("a step that never finishes must stop the run");
    };
    assert!(why.contains("step 2 of 3") && why.contains("10m"), "{why}");
}

#[test]
fn a_blocked_change_stops_the_run_at_once_with_its_reason() {
    let (d, mut o) = example();
    // gw9 down: the planner blocks every move to it.
    o.gateways[2].up = false;
    let mut plan = crate::plan::plan(&d, &o);
    plan.steps.clear();
    assert!(!plan.blocked.is_empty());
    let Next::Stop(Stop::Stuck(why)) = next(&status(Phase::Moving, None), &plan, 0, 0, POLL, ACK)
    else {
        panic!("a blocked change must stop the run");
    };
    assert!(why.contains("cannot start"), "{why}");
}

#[test]
fn the_first_pass_admits_the_first_step_and_journals_its_memory() {
    let (d, o) = example();
    let r = d.policy.rollout.as_deref().unwrap();
    let mut b = Blocking::new(r, "rev", &[], 1_000, Duration::from_secs(50));
    assert!(b.carried().is_none());
    let (plan, record) = b.pass(&d, &o, Duration::from_secs(50));
    // Five agents get a bridge; nobody else is touched.
    assert_eq!(crate::plan::Counts::of(&plan).members, 5);
    let Some(Record::RolloutState { state, events, .. }) = record else {
        panic!("the first pass changes the memory: {record:?}");
    };
    assert_eq!(state.started.len(), 5);
    assert_eq!(events, vec![Event::StepStarted { step: 1, target: 5 }]);
    assert_eq!(b.new_events(0).len(), 1);
    // The same observation again changes nothing, so nothing is written.
    let (_, again) = b.pass(&d, &o, Duration::from_secs(60));
    assert!(again.is_none());
    assert_eq!(b.seconds(Duration::from_secs(60)), 1_010);
}

#[test]
fn a_later_run_carries_on_from_the_journal_and_reports_relative_times() {
    let (d, o) = example();
    let r = d.policy.rollout.as_deref().unwrap();
    let mut first = Blocking::new(r, "rev", &[], 1_000, Duration::ZERO);
    let (_, record) = first.pass(&d, &o, Duration::ZERO);
    let records = vec![record.unwrap()];
    let later = Blocking::new(r, "rev", &records, 2_000, Duration::ZERO);
    assert_eq!(later.carried().map(|m| m.started.len()), Some(5));
    // Another revision starts afresh.
    assert!(
        Blocking::new(r, "other", &records, 2_000, Duration::ZERO)
            .carried()
            .is_none()
    );
    let run = first.finish(Stop::Interrupted);
    assert_eq!(run.timeline[0].at, 0);
    let text = run.outcome("handover resume --target t", "handover apply");
    assert!(text.contains("interrupted at step 1 of 3"), "{text}");
}

#[test]
fn each_outcome_says_what_to_do_next() {
    let run = |phase, stop| RolloutRun {
        policy: example().0.policy.rollout.as_deref().unwrap().clone(),
        timeline: Vec::new(),
        last: Some(Status {
            analysis: Verdict {
                verdict: VerdictKind::Failed,
                reasons: vec!["gw9 is down".into()],
                failing: Vec::new(),
            },
            ..status(phase, None)
        }),
        stop,
    };
    let say = |phase, stop| run(phase, stop).outcome("RESUME", "APPLY");
    let paused = say(Phase::AnalysisFailed, Stop::Held);
    assert!(
        paused.contains("gw9 is down") && paused.contains("RESUME") && paused.contains("APPLY"),
        "{paused}"
    );
    let manual = say(Phase::Paused, Stop::Held);
    assert!(
        manual.contains("manual pause") && manual.contains("RESUME"),
        "{manual}"
    );
    assert!(say(Phase::RolledBack, Stop::Held).contains("rolled back at step 2 of 3"));
    assert!(say(Phase::Complete, Stop::Complete).starts_with("Rollout complete"));
}
