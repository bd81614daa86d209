//! `handover apply` under `policy.rollout` against a `sim:` target: every
//! step in one blocking run (soaks on the simulator's clock), a manual
//! pause that stops the run until `handover resume`, a failed analysis
//! that pauses (later members untouched) or rolls the moved agents back to
//! gw1, the JSON document, the journal shared with `reconcile`, and a
//! saved plan of a rollout refused.

mod apply_rollout_shared;

use apply_rollout_shared::{handover, last_phase, output, resume, setup, states, timeline};
use serde_json::Value;
use std::path::Path;

const TARGET: &str = "sim:estate.yaml";

/// `apply --auto-approve --desired desired --target sim:estate.yaml`, plus
/// `extra`.
fn apply(d: &Path, extra: &[&str]) -> (i32, String, String) {
    output(
        handover(d)
            .args(["apply", "--auto-approve", "--desired", "desired"])
            .args(["--target", TARGET])
            .args(extra),
    )
}

/// Agents whose configured primary is `gw` in the target's file.
fn on(d: &Path, gw: &str) -> usize {
    std::fs::read_to_string(d.join("estate.yaml"))
        .unwrap()
        .matches(&format!("    primary: {gw}.branch.contoso.local"))
        .count()
}

/// gw9's entry in an observed file's text: where it starts and ends
/// (the next entry, or the agents' section).
fn gw9_block(text: &str) -> (usize, usize) {
    let at = text.find("  - name: gw9.branch.contoso.local").unwrap();
    let rest = &text[at + 1..];
    let end = [rest.find("\n  - name:"), rest.find("\nagents:")]
        .into_iter()
        .flatten()
        .min()
        .map_or(text.len(), |i| at + 1 + i + 1);
    (at, end)
}

/// Takes gw9 down in the target's file, as if it had crashed (`up:
/// false`), or repairs it (its entry as the example has it: up and
/// connected to ms1).
fn gw9_up(d: &Path, up: bool) {
    let f = d.join("estate.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let (at, end) = gw9_block(&text);
    let block = if up {
        let original =
            std::fs::read_to_string(apply_rollout_shared::example("observed.yaml")).unwrap();
        let (a, e) = gw9_block(&original);
        original[a..e].to_string()
    } else {
        text[at..end].replace("    up: true", "    up: false")
    };
    assert!(up || block.contains("up: false"), "{block}");
    std::fs::write(&f, format!("{}{block}{}", &text[..at], &text[end..])).unwrap();
}

const THREE_STEPS: &str = "    steps:\n      - {members: 5, soak: 15m}\n      - {percent: 50, soak: 30m}\n      - {percent: 100}\n";
const MANUAL_PAUSE: &str =
    "    steps:\n      - {members: 5}\n      - {pause: true}\n      - {percent: 100}\n";
const PAUSE_THEN_MORE: &str = "    steps:\n      - {members: 5}\n      - {pause: true}\n      - {members: 10, soak: 10m}\n      - {percent: 100}\n";

#[test]
fn every_step_runs_in_order_with_its_soak_in_one_apply() {
    let tmp = setup(THREE_STEPS, "pause", "");
    let d = tmp.path();
    let (code, out, err) = apply(d, &["--format", "json"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verdict"], "converged");
    assert_eq!(on(d, "gw9"), 40, "every agent moved in the end");
    // Told before the question: a rollout of 3 steps, 45 minutes of soaks.
    assert!(
        err.contains("progressive rollout of 3 steps") && err.contains("45m of soaks"),
        "{err}"
    );
    let events = timeline(&doc);
    let steps_started: Vec<u64> = events
        .iter()
        .filter(|(e, _)| e == "stepStarted")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(steps_started, vec![1, 2, 3], "{events:?}");
    assert_eq!(events.last().unwrap().0, "complete", "{events:?}");
    // Each step soaks before the next starts, for the whole soak on the
    // target's clock.
    let t = doc["rollout"]["timeline"].as_array().unwrap();
    let at = |event: &str, step: u64| {
        t.iter()
            .find(|e| e["event"] == event && e["step"] == step)
            .unwrap_or_else(|| panic!("no {event} of step {step}: {t:?}"))
    };
    let soak1 = at("soakStarted", 1);
    assert_eq!(
        soak1["until"].as_u64().unwrap() - soak1["at"].as_u64().unwrap(),
        15 * 60
    );
    assert!(at("stepStarted", 2)["at"].as_u64() >= soak1["until"].as_u64());
    let soak2 = at("soakStarted", 2);
    assert!(at("stepStarted", 3)["at"].as_u64() >= soak2["until"].as_u64());
    assert_eq!(doc["rollout"]["last"]["phase"], "complete");
    assert_eq!(doc["rollout"]["onFailure"], "pause");
    assert_eq!(doc["rollout"]["steps"].as_array().unwrap().len(), 3);
    // Progress on stderr, step by step, in order.
    let first = err.find("Rollout step 1 of 3: moving members").unwrap();
    let second = err.find("Rollout step 2 of 3: moving members").unwrap();
    assert!(first < second, "{err}");
    // The journal holds the rollout's memory, complete; a reconcile pass
    // of the same files carries on from it and has nothing to do.
    assert_eq!(last_phase(d), "complete");
    let (code, _, err) = output(handover(d).args([
        "reconcile",
        "--once",
        "--desired",
        "desired",
        "--target",
        TARGET,
    ]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_manual_pause_stops_the_apply_until_handover_resume() {
    let tmp = setup(MANUAL_PAUSE, "pause", "");
    let d = tmp.path();
    let (code, out, err) = apply(d, &[]);
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Rollout paused at step 2 of 3, a manual pause"),
        "{out}"
    );
    assert!(
        out.contains("handover resume --target sim:estate.yaml"),
        "the exact command to go on: {out}"
    );
    assert_eq!((on(d, "gw9"), on(d, "gw1")), (5, 35));
    assert_eq!(last_phase(d), "paused");
    // Time and another apply do not end a pause; neither does reconcile,
    // which reads the same memory.
    let (code, _, _) = apply(d, &[]);
    assert_eq!(code, 3);
    let (code, _, err) = output(handover(d).args([
        "reconcile",
        "--once",
        "--desired",
        "desired",
        "--target",
        TARGET,
    ]));
    assert_eq!(code, 3, "{err}");
    assert_eq!(on(d, "gw9"), 5, "still paused");
    resume(d, TARGET);
    let (code, out, err) = apply(d, &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Rollout complete"), "{out}");
    assert_eq!(on(d, "gw9"), 40);
    assert_eq!(last_phase(d), "complete");
}

#[test]
fn a_manual_pause_in_json_is_not_converged_with_the_rollouts_phase() {
    let tmp = setup(MANUAL_PAUSE, "pause", "");
    let d = tmp.path();
    let (code, out, err) = apply(d, &["--format", "json"]);
    assert_eq!(code, 3, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verdict"], "not_converged");
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(doc["rollout"]["last"]["phase"], "paused");
    assert_eq!(doc["rollout"]["last"]["step"], 2);
    assert_eq!(doc["rollout"]["last"]["steps"], 3);
    assert_eq!(
        timeline(&doc),
        vec![
            ("stepStarted".to_string(), 1),
            ("soakStarted".to_string(), 1),
            ("paused".to_string(), 2)
        ]
    );
    assert_eq!(doc["applied"]["bridges"], 5);
}

/// Runs to the manual pause with 5 agents on gw9, crashes gw9, and
/// resumes: the next apply's first analysis fails.
fn paused_with_gw9_down(d: &Path) {
    let (code, _, err) = apply(d, &[]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(last_phase(d), "paused");
    gw9_up(d, false);
    resume(d, TARGET);
}

#[test]
fn a_failed_analysis_pauses_leaves_later_members_alone_and_resume_goes_on() {
    let tmp = setup(PAUSE_THEN_MORE, "pause", "");
    let d = tmp.path();
    paused_with_gw9_down(d);
    let (code, out, err) = apply(d, &[]);
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Rollout paused at step 3 of 4: the analysis failed")
            && out.contains("gateway gw9.branch.contoso.local, a new primary, is down"),
        "{out}"
    );
    assert!(
        out.contains("handover resume --target sim:estate.yaml"),
        "{out}"
    );
    assert_eq!(on(d, "gw1"), 35, "step 3's agents were not touched");
    assert_eq!(last_phase(d), "analysisFailed");
    let failed = states(d).pop().unwrap();
    assert!(
        failed["state"]["failure"].to_string().contains("is down"),
        "the journal says why: {failed}"
    );
    // Another apply without a resume starts nothing.
    let (code, _, _) = apply(d, &[]);
    assert_eq!(code, 3);
    assert_eq!(on(d, "gw1"), 35);
    // gw9 repaired and the rollout resumed: it starts again from its first
    // step over the agents still to move, and stops at its manual pause.
    gw9_up(d, true);
    resume(d, TARGET);
    let (code, out, err) = apply(d, &[]);
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(on(d, "gw1"), 30, "five more moved: {out}");
    assert_eq!(last_phase(d), "paused");
}

#[test]
fn a_failed_analysis_rolls_the_moved_agents_back_make_before_break() {
    let tmp = setup(PAUSE_THEN_MORE, "rollback", "");
    let d = tmp.path();
    paused_with_gw9_down(d);
    let (code, out, err) = apply(d, &[]);
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Rollout rolled back at step 3 of 4"), "{out}");
    assert!(err.contains("Rolling back 5 members"), "{err}");
    assert_eq!(last_phase(d), "rolledBack");
    assert_eq!((on(d, "gw1"), on(d, "gw9")), (40, 0), "all back on gw1");
    let text = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    assert_eq!(
        text.matches("    failover: [gw2.branch.contoso.local]")
            .count(),
        40,
        "with gw2 as failover, as before"
    );
    let (sim, _) = handover::sim::file::SimFile::open_read_only(&d.join("estate.yaml"), 0).unwrap();
    assert!(sim.sim().stranded().is_empty());
    assert!(
        sim.sim().stranded_ever().is_empty(),
        "nobody, at any moment"
    );
}

#[test]
fn a_saved_plan_of_a_rollout_is_refused_and_nothing_is_applied() {
    let tmp = setup(THREE_STEPS, "pause", "");
    let d = tmp.path();
    let (code, _, err) = output(handover(d).args([
        "plan",
        "--desired",
        "desired",
        "--target",
        TARGET,
        "--out",
        "plan.json",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) =
        output(handover(d).args(["apply", "plan.json", "--target", TARGET, "--auto-approve"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("made from a topology with policy.rollout")
            && err.contains("handover apply --desired"),
        "{err}"
    );
    assert_eq!(on(d, "gw1"), 40, "nothing was applied");
    assert!(states(d).is_empty());
}
