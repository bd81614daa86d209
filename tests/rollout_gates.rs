//! A progressive rollout and the gates together (docs/rollouts.md,
//! docs/gates.md): a reconcile pass starts a member only when the
//! rollout's step, the change windows and the approval all admit it. The
//! real binary against a `sim:` estate; the rehearsal of both is
//! `tests/rollout_gates_simulate.rs`.

mod common;

use common::gates::{OUTSIDE, WEEKNIGHTS, moved as on_ms2, observed};
use std::path::Path;
use std::process::Command;

/// Tuesday 23:00 in Berlin: inside the weeknight window.
const INSIDE: &str = "2026-12-08T23:00:00+01:00";

/// The weeknight window and a rollout of one member, then the rest.
fn desired() -> String {
    common::gates::desired(&format!(
        "{WEEKNIGHTS}  rollout:
    steps:
      - {{members: 1, soak: 1h}}
      - {{percent: 100}}
"
    ))
}

fn once(dir: &Path, now: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(dir)
        .env("HANDOVER_NOW", now)
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["reconcile", "--once", "--desired", "desired.yaml"])
        .args(["--target", "sim:estate.yaml"])
        .output()
        .unwrap()
}

#[test]
fn a_closed_window_holds_a_rollout_step_and_an_open_one_lets_only_the_step_move() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("desired.yaml"), desired()).unwrap();
    std::fs::write(d.join("estate.yaml"), observed(4)).unwrap();

    // The rollout's first step admits one member, but the window is shut.
    let out = once(d, OUTSIDE);
    assert_ne!(out.status.code(), Some(0), "not converged: members held");
    assert_eq!(
        on_ms2(d),
        0,
        "nothing starts outside the window: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Inside the window the step's one member moves, and no other: the
    // soak of step 1 holds the rest back.
    let out = once(d, INSIDE);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(
        on_ms2(d),
        1,
        "only the first step moves: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
