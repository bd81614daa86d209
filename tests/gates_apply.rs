//! `apply PLANFILE` checks the gates the plan was made under
//! (docs/gates.md): a saved plan is refused outside a change window unless
//! `--ignore-windows`, and without the approval it needs (exit 6, nothing
//! applied), against `sim:` and the exec test provider; and the windows of
//! `apply --desired` and `reconcile --once` with windows that are open or
//! closed at any time, so nothing here depends on the clock.

#[path = "common/matrix.rs"]
mod matrix;

use matrix::{APPROVAL, CLOSED, Estate, OPEN, digest_after, run};

fn apply_plan_sim(e: &Estate, extra: &[&str]) -> (i32, String, String) {
    run(e
        .handover()
        .args([
            "apply",
            "plan.json",
            "--auto-approve",
            "--target",
            "sim:estate.yaml",
        ])
        .args(extra))
}

fn apply_plan_exec(e: &Estate, extra: &[&str]) -> (i32, String, String) {
    run(e
        .handover()
        .args(["apply", "plan.json", "--auto-approve"])
        .args(e.exec_args())
        .args(extra))
}

#[test]
fn a_saved_plan_is_refused_outside_the_window_and_applied_with_ignore_windows() {
    let e = Estate::new(CLOSED);
    let out = e.plan_out();
    assert!(out.contains("Change window: closed now"), "{out}");
    let (code, out, err) = apply_plan_sim(&e, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        err.contains("error: outside the change window (policy.windows, recorded in plan.json): no change may start now"),
        "{err}"
    );
    assert!(
        err.contains("no window opens within the next 400 days. Nothing was applied; run apply again then, or pass --ignore-windows to apply now."),
        "{err}"
    );
    assert_eq!(e.moved_sim(), 0);
    assert!(!e.journal(".handover").contains("run_started"));

    let (code, out, err) = apply_plan_sim(&e, &["--ignore-windows"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning: outside the change window (policy.windows, recorded in plan.json); applying anyway because of --ignore-windows"),
        "{err}"
    );
    assert_eq!(e.moved_sim(), 4);
}

#[test]
fn a_saved_plan_inside_the_window_applies_through_the_exec_provider() {
    let e = Estate::new(OPEN);
    e.plan_out();
    let (code, out, err) = apply_plan_exec(&e, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("change window"), "{err}");
    assert_eq!(e.moved_exec(), 4);
}

#[test]
fn a_saved_plan_outside_the_window_writes_nothing_to_the_exec_provider() {
    let e = Estate::new(CLOSED);
    e.plan_out();
    let (code, out, err) = apply_plan_exec(&e, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(err.contains("error: outside the change window"), "{err}");
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
    assert_eq!(e.moved_exec(), 0);
}

#[test]
fn a_saved_plan_above_the_threshold_needs_its_approval() {
    let e = Estate::new(APPROVAL);
    let out = e.plan_out();
    let digest = digest_after(&out, "Digest: ");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(e.path("plan.json")).unwrap()).unwrap();
    assert_eq!(
        plan["gates"]["approval"]["digest"],
        digest.as_str(),
        "{plan:#}"
    );
    assert_eq!(plan["gates"]["approval"]["members"], 4);

    let (code, out, err) = apply_plan_sim(&e, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        err.contains(&format!(
            "error: this plan moves 4 of 4 members, above policy.approval (aboveMembers 2); it needs approval of {digest} before --auto-approve may apply it."
        )),
        "{err}"
    );
    assert!(err.contains("Nothing was applied."), "{err}");
    assert_eq!(e.moved_sim(), 0);
    assert!(!e.journal(".handover").contains("run_started"));

    let (code, _, err) = run(e.handover().env("USER", "alice").args([
        "approve",
        &digest,
        "--target",
        "sim:estate.yaml",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = apply_plan_sim(&e, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("approval: {digest} was approved by alice.")),
        "{err}"
    );
    assert_eq!(e.moved_sim(), 4);
}

#[test]
fn the_approvals_file_beside_the_plan_approves_it_for_the_exec_provider() {
    let e = Estate::new(APPROVAL);
    let digest = digest_after(&e.plan_out(), "Digest: ");
    let (code, out, err) = apply_plan_exec(&e, &[]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(err.contains(&format!("approval of {digest}")), "{err}");
    assert_eq!(e.applied_exec(), 0);

    std::fs::write(
        e.path("handover-approvals.txt"),
        format!("{digest} CHG0042 approved by the change board\n"),
    )
    .unwrap();
    let (code, out, err) = apply_plan_exec(&e, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "approval: {digest} was approved by file handover-approvals.txt."
        )),
        "{err}"
    );
    assert_eq!(e.moved_exec(), 4);
}

#[test]
fn a_window_edited_by_hand_in_the_plan_is_refused_and_nothing_applied() {
    let e = Estate::new(CLOSED);
    e.plan_out();
    let text = std::fs::read_to_string(e.path("plan.json")).unwrap();
    assert!(text.contains("\"schedule\": \"* * * * *\""), "{text}");
    std::fs::write(
        e.path("plan.json"),
        text.replace("\"schedule\": \"* * * * *\"", "\"schedule\": \"never\""),
    )
    .unwrap();
    let (code, out, err) = apply_plan_sim(&e, &["--ignore-windows"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("plan.json: gates.windows[0]: schedule \"never\" has 1 field; expected five"),
        "{err}"
    );
    assert_eq!(e.moved_sim(), 0);
}

#[test]
fn a_plan_without_gates_records_none() {
    let e = Estate::new("");
    e.plan_out();
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(e.path("plan.json")).unwrap()).unwrap();
    assert!(plan.get("gates").is_none(), "{plan:#}");
    let (code, out, err) = apply_plan_sim(&e, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(e.moved_sim(), 4);
}

#[test]
fn apply_desired_and_reconcile_hold_for_a_window_closed_at_any_time() {
    let e = Estate::new(CLOSED);
    let (code, out, err) = run(e.handover().args([
        "apply",
        "--auto-approve",
        "--desired",
        "topology",
        "--target",
        "sim:estate.yaml",
    ]));
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        err.contains("error: outside the change window (policy.windows)"),
        "{err}"
    );
    assert_eq!(e.moved_sim(), 0);
    let (code, _, err) = run(e.handover().args([
        "reconcile",
        "--once",
        "--desired",
        "topology",
        "--target",
        "sim:estate.yaml",
    ]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("outside the change window"), "{err}");
    assert_eq!(e.moved_sim(), 0);
}
