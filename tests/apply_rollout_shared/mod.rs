//! What the `apply` rollout tests share: the overload example's branch
//! office (40 agents moving from gw1 to gw9) with the rollout's steps
//! replaced, the journal's rollout states, and `handover` run in the
//! test's directory with its own lock directory.
//!
//! Owns the set-up only; must not decide what a test asserts.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// A file of `examples/rollout-overload/`.
pub fn example(f: &str) -> String {
    format!(
        "{}/examples/rollout-overload/{f}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A directory with `desired/desired.yaml` (the example's topology with
/// `steps` in place of its steps, `onFailure: on_failure`, and `policy`
/// lines added) and the example's observed state as `estate.yaml`.
pub fn setup(steps: &str, on_failure: &str, policy: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("desired")).unwrap();
    let text = std::fs::read_to_string(example("rollback.yaml")).unwrap();
    let start = text.find("    steps:\n").unwrap();
    let end = text.find("    analysis:").unwrap();
    let text = format!("{}{steps}{}", &text[..start], &text[end..])
        .replace("onFailure: rollback", &format!("onFailure: {on_failure}"))
        .replace("policy:\n", &format!("policy:\n{policy}"));
    std::fs::write(tmp.path().join("desired/desired.yaml"), text).unwrap();
    std::fs::copy(example("observed.yaml"), tmp.path().join("estate.yaml")).unwrap();
    tmp
}

/// `handover` in `d`, with the host-wide lock directory moved into `d`.
pub fn handover(d: &Path) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(d)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", d.join("locks"));
    c
}

/// Runs `c`: its exit code, stdout and stderr.
pub fn output(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The journal's records in `d/.handover`, oldest first.
pub fn journal(d: &Path) -> Vec<Value> {
    std::fs::read_to_string(d.join(".handover/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// The journal's rollout states, oldest first.
pub fn states(d: &Path) -> Vec<Value> {
    journal(d)
        .into_iter()
        .filter(|r| r["event"] == "rollout_state")
        .collect()
}

/// The phase of the last rollout state in the journal.
pub fn last_phase(d: &Path) -> String {
    states(d).last().expect("a rollout state in the journal")["state"]["phase"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `handover resume` for the target `target` run in `d`.
pub fn resume(d: &Path, target: &str) {
    let (code, out, err) = output(handover(d).args(["resume", "--target", target]));
    assert_eq!(code, 0, "{out}{err}");
}

/// The events of `doc.rollout.timeline`, as `(event, step)`.
pub fn timeline(doc: &Value) -> Vec<(String, u64)> {
    doc["rollout"]["timeline"]
        .as_array()
        .unwrap_or_else(|| panic!("no rollout timeline: {doc}"))
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["step"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}
