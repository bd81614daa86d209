//! A run resumed after a crash judges evidence against the write the
//! crashed run made (issue 20): `apply` on an `exec:` target seeds the
//! provider's write times from the journal before its first observation.
//!
//! The estate: agent a1 in its bridge (primary gw2, failover gw1, still
//! talking to gw1), as a run killed five minutes ago left it; the journal
//! in the working directory holds that run's start and its bridge write,
//! and no end. The test provider reports, for every agent, the parents it
//! has learned (the bridge), read some seconds before now.
//!
//! - read after the pre-crash write (60 s ago): the resumed run
//!   acknowledges a1 and prunes gw1;
//! - read before it (6 min ago, fresh enough to count without a known
//!   write): a1 stays in its bridge, pending, and nothing is pruned;
//! - the same old reading with no journal: acknowledged, which is what the
//!   journal's write time prevents.

mod common;

use common::estate::handover_in;
use handover::state::journal::{Journal, Record};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

const DESIRED: &str = "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1}]
gateways:
  - {name: gw1, primary: ms1}
  - {name: gw2, primary: ms1}
agents:
  - {name: a1, primary: gw2}
";

const ESTATE: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1, up: true}]
gateways:
  - {name: gw1, primary: ms1, connected: ms1, up: true, ready: true}
  - {name: gw2, primary: ms1, connected: ms1, up: true, ready: true}
agents:
  - {name: a1, primary: gw2, failover: [gw1], connected: gw1}
";

fn target() -> String {
    format!("exec:{PROVIDER}")
}

/// A working directory with the topology, the provider's state (a1 in its
/// bridge) and, with `journal`, the crashed run's records: its start, and
/// its bridge write sent and answered five minutes ago.
fn crashed_run(journal: bool) -> tempfile::TempDir {
    crashed_run_in(journal.then_some(".handover"))
}

/// [`crashed_run`] with its journal in `state_dir` (relative to the
/// directory), or none.
fn crashed_run_in(state_dir: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("desired.yaml"), DESIRED).unwrap();
    let observed = handover::load::observed_str(ESTATE, "estate.yaml").unwrap();
    std::fs::write(
        d.join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    if let Some(state_dir) = state_dir {
        let at = |ago: u64| {
            humantime::format_rfc3339_millis(SystemTime::now() - Duration::from_secs(ago))
                .to_string()
        };
        let mut j = Journal::open(&d.join(state_dir)).unwrap();
        let step = |outcome: &str, ago: u64| Record::Step {
            run: "crashed".into(),
            at: at(ago),
            step: 1,
            action: "set_parents".into(),
            name: "a1".into(),
            outcome: outcome.into(),
            detail: "parents gw2, gw1".into(),
        };
        for r in [
            Record::RunStarted {
                run: "crashed".into(),
                at: at(302),
                command: "apply".into(),
                target: target(),
                revision: "rev".into(),
                user: String::new(),
                commit: String::new(),
            },
            step("sending", 301),
            step("applied", 300),
        ] {
            j.append(&r).unwrap();
        }
    }
    tmp
}

/// `apply` resumed in `dir`, the provider's evidence read `age` seconds
/// before each observation: (exit code, stdout, the provider's state).
fn resume(dir: &Path, age: u64) -> (i32, String, Value) {
    resume_with(dir, age, &[])
}

/// [`resume`] with `extra` arguments to `apply`.
fn resume_with(dir: &Path, age: u64, extra: &[&str]) -> (i32, String, Value) {
    let out = handover_in(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["apply", "--auto-approve", "--desired", "desired.yaml"])
        .args(["--target", &target()])
        .args(["--target-arg", "--state", "--target-arg", "provider.json"])
        .args(["--target-arg", "--evidence-age-secs"])
        .args(["--target-arg", &age.to_string()])
        .args(["--ack-timeout", "1s"])
        .args(extra)
        .output()
        .unwrap();
    let state = serde_json::from_slice(&std::fs::read(dir.join("provider.json")).unwrap()).unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        state,
    )
}

/// The parents written to a1 by the resumed run, in order.
fn writes_to_a1(state: &Value) -> Vec<Value> {
    state["applied"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|op| op["name"] == "a1")
        .collect()
}

fn pruned(state: &Value) -> bool {
    writes_to_a1(state)
        .iter()
        .any(|op| op["primary"] == "gw2" && op["failover"] == serde_json::json!([]))
}

#[test]
fn evidence_read_after_the_pre_crash_write_acknowledges_the_member() {
    let tmp = crashed_run(true);
    let (code, out, state) = resume(tmp.path(), 60);
    assert!(pruned(&state), "exit {code}\n{out}\n{state:#}");
    // The bridge is not written again: only the prune.
    assert_eq!(writes_to_a1(&state).len(), 1, "{state:#}");
    assert_eq!(state["stranded"], serde_json::json!([]));
}

#[test]
fn a_reading_older_than_the_pre_crash_write_is_not_evidence() {
    let tmp = crashed_run(true);
    let (code, out, state) = resume(tmp.path(), 360);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("Pending, in their bridge (run apply again later) (1): a1"),
        "{out}"
    );
    assert!(writes_to_a1(&state).is_empty(), "{state:#}");
}

#[test]
fn apply_with_state_dir_judges_by_the_writes_journalled_there() {
    let tmp = crashed_run_in(Some("state"));
    let (code, out, state) = resume_with(tmp.path(), 360, &["--state-dir", "state"]);
    assert_eq!(code, 3, "{out}");
    assert!(writes_to_a1(&state).is_empty(), "{state:#}");
}

#[test]
fn without_the_journal_the_same_old_reading_would_have_counted() {
    let tmp = crashed_run(false);
    let (code, out, state) = resume(tmp.path(), 360);
    assert!(pruned(&state), "exit {code}\n{out}\n{state:#}");
}

/// `reconcile --once` resumed in `dir` (its topology's ackTimeout 1s), the
/// evidence read `age` seconds before each observation: the provider's
/// state after the pass, and what the pass printed.
fn reconcile_once(dir: &Path, age: u64) -> (Value, String) {
    let desired = format!("{DESIRED}policy: {{ackTimeout: 1s}}\n");
    std::fs::write(dir.join("desired.yaml"), desired).unwrap();
    let out = handover_in(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["reconcile", "--once", "--desired", "desired.yaml"])
        .args(["--target", &target()])
        .args(["--target-arg", "--state", "--target-arg", "provider.json"])
        .args(["--target-arg", "--evidence-age-secs"])
        .args(["--target-arg", &age.to_string()])
        .output()
        .unwrap();
    let state = serde_json::from_slice(&std::fs::read(dir.join("provider.json")).unwrap()).unwrap();
    let text = format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (state, text)
}

#[test]
fn a_reconcile_pass_after_a_restart_judges_by_the_journals_write_too() {
    let tmp = crashed_run(true);
    let (state, out) = reconcile_once(tmp.path(), 360);
    assert!(writes_to_a1(&state).is_empty(), "{out}\n{state:#}");
    let tmp = crashed_run(true);
    let (state, out) = reconcile_once(tmp.path(), 60);
    assert!(pruned(&state), "{out}\n{state:#}");
}
