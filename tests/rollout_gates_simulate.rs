//! A progressive rollout and the gates rehearsed together (docs/gates.md,
//! "Rehearsing them"; docs/rollouts.md): `simulate` composes them as a
//! reconcile pass does, so a step that comes due while the change window is
//! closed waits for the next opening on the virtual clock. The real binary,
//! in text and JSON.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// Tuesday 23:00 in Berlin (22:00 UTC): inside the weeknight window, which
/// closes at 02:00 Berlin (01:00 UTC), three hours later.
const START: &str = "2026-12-08T23:00:00+01:00";

const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1.contoso.local, up: true}, {name: ms2.contoso.local, up: true}]
agents:
  - {name: a1.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a2.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a3.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a4.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
";

/// Step 1 moves one agent and soaks 4 hours: it ends after the window
/// closed, so step 2 waits for Wednesday's window.
const DESIRED: &str = "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1.contoso.local}, {name: ms2.contoso.local}]
agentRules:
  - {match: \"*.contoso.local\", primary: ms2.contoso.local, failover: []}
policy:
  windows:
    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: 4h, timeZone: Europe/Berlin}
  rollout:
    steps:
      - {members: 1, soak: 4h}
      - {percent: 100}
";

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("desired.yaml"), DESIRED).unwrap();
    std::fs::write(tmp.path().join("observed.yaml"), OBSERVED).unwrap();
    tmp
}

/// `simulate` from [`START`]; (exit, stdout, stderr).
fn simulate(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .args([
            "simulate",
            "--desired",
            "desired.yaml",
            "--observed",
            "observed.yaml",
            "--start",
            START,
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_window_holds_step_2_until_it_opens_in_text() {
    let tmp = setup();
    let (code, out, err) = simulate(tmp.path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("cannot yet rehearse"), "{err}");
    // The rollout's timeline, then the gates' lines, in order.
    let lines: Vec<&str> = out.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
    };
    let rollout = at("Rollout: 2 steps (1 member, soak 4h; 100%)");
    let opened = at("at 0s (2026-12-08T22:00:00Z): the change window is open: changes may start.");
    let closed = at(
        "outside the change window: 3 members held back until it opens at 2026-12-09T21:00:00Z.",
    );
    let reopened =
        at("at 23h (2026-12-09T21:00:00Z): the change window is open: changes may start.");
    assert!(
        rollout < opened && opened < closed && closed < reopened,
        "{out}"
    );
    // Step 2 moved its members only after the window opened at 23h.
    assert!(out.contains("23h 2m  step 2 moved its members"), "{out}");
    assert!(out.contains("Converged (make-before-break)"), "{out}");
    assert!(out.contains("4 members moved"), "{out}");
}

#[test]
fn a_closed_window_holds_step_2_until_it_opens_in_json() {
    let tmp = setup();
    let (code, out, err) = simulate(tmp.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).expect("one JSON object");
    let gates = doc["gates"].as_array().expect("gates");
    let events: Vec<(&str, u64, u64)> = gates
        .iter()
        .map(|g| {
            (
                g["event"].as_str().unwrap(),
                g["at_seconds"].as_u64().unwrap(),
                g["members"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(events.len(), 3, "{gates:?}");
    assert_eq!(events[0], ("window_open", 0, 0));
    assert_eq!((events[1].0, events[1].2), ("window_closed", 3));
    assert!(
        events[1].1 >= 3 * 3600 && events[1].1 <= 23 * 3600,
        "{gates:?}"
    );
    assert_eq!(gates[1]["until"], "2026-12-09T21:00:00Z");
    assert_eq!(events[2], ("window_open", 23 * 3600, 0));
    // The rollout ran beside the gates: step 1 moved one member before
    // the window closed, and the rollout completed only after it opened.
    let rollout = &doc["rollout"];
    assert_eq!(rollout["last"]["phase"], "complete", "{rollout}");
    let timeline = rollout["timeline"].as_array().unwrap();
    let step1 = timeline
        .iter()
        .find(|t| t["event"] == "stepStarted" && t["step"] == 1)
        .unwrap_or_else(|| panic!("{timeline:?}"));
    assert_eq!(step1["at"], 0);
    // Step 2 came due when the soak ended, at night, but moved its
    // members only once the window opened.
    let step2 = timeline
        .iter()
        .find(|t| t["event"] == "stepStarted" && t["step"] == 2)
        .unwrap_or_else(|| panic!("{timeline:?}"));
    assert_eq!(step2["at"], events[1].1, "due when the window held it");
    let moved2 = timeline
        .iter()
        .find(|t| t["event"] == "soakStarted" && t["step"] == 2)
        .unwrap_or_else(|| panic!("{timeline:?}"));
    assert!(moved2["at"].as_u64().unwrap() >= 23 * 3600, "{timeline:?}");
    assert_eq!(timeline.last().unwrap()["event"], "complete");
    assert_eq!(doc["moved"], 4, "{doc}");
}
