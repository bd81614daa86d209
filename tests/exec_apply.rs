//! `handover apply`, `plan` and `export` against an `exec:` target, driven
//! as a user would: the real `handover` binary runs the real
//! `handover-test-provider` as a separate process for every request.

mod common;

use assert_cmd::Command;
use common::estate::{copy_example, example};
use serde_json::Value;
use std::path::{Path, PathBuf};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// A temporary directory with `desired.yaml`, `estate.yaml` (the example's
/// observed state, for `sim:` and `--observed`) and `provider.json` (the
/// test provider's state, starting as the same estate).
fn setup(name: &str) -> tempfile::TempDir {
    let tmp = copy_example(name);
    std::fs::write(
        tmp.path().join("provider.json"),
        common::estate::provider_state(&example(name).join("observed.yaml")),
    )
    .unwrap();
    tmp
}

/// `handover` in `dir`, with the host-wide lock directory moved into `dir`
/// (so this test's locks are its own, and can be looked at).
fn handover(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"));
    c
}

fn target() -> String {
    format!("exec:{PROVIDER}")
}

fn provider_state(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("provider.json")).unwrap()).unwrap()
}

fn apply(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = handover(dir)
        .args(["apply", "--auto-approve", "--desired", "desired.yaml"])
        .args(["--target", &target(), "--target-arg", "--state"])
        .arg("--target-arg")
        .arg(dir.join("provider.json"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn plan_json(dir: &Path, source: &[&str]) -> String {
    let out = handover(dir)
        .args(["plan", "--desired", "desired.yaml", "--format", "json"])
        .args(source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn apply_through_a_provider_program_converges_make_before_break() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let (code, out, err) = apply(dir, &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Converged"), "{out}");
    let state = provider_state(dir);
    // Nobody lost its connection on the way (the provider records every
    // member a write cut off from the server it was connected to).
    assert_eq!(state["dropped"], serde_json::json!([]), "{state:#}");
    assert_eq!(state["stranded"], serde_json::json!([]), "{state:#}");
    // Make-before-break: every web agent's first write kept gw1 as an extra
    // failover, and gw1 was retired only after the last prune.
    let applied = state["applied"].as_array().unwrap();
    let first_web05 = applied
        .iter()
        .find(|op| op["name"] == "web05.dmz.contoso.local")
        .unwrap();
    assert_eq!(first_web05["primary"], "gw2.dmz.contoso.local");
    assert!(
        first_web05["failover"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "gw1.dmz.contoso.local"),
        "{first_web05}"
    );
    let retire = applied
        .iter()
        .position(|op| op["op"] == "retire_gateway")
        .expect("gw1 retired");
    assert_eq!(retire, applied.len() - 1, "{applied:#?}");
    // The lock lived in the lock directory (not in .handover/ of the
    // working directory), keyed by the target, and was released (emptied).
    let in_state_dir = std::fs::read_dir(dir.join(".handover"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .count();
    assert_eq!(in_state_dir, 0);
    let locks: Vec<_> = std::fs::read_dir(dir.join("locks"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .collect();
    assert_eq!(locks.len(), 1);
    assert!(
        locks[0]
            .file_name()
            .to_string_lossy()
            .starts_with("exec-handover-test-provider-")
    );
    assert_eq!(std::fs::metadata(locks[0].path()).unwrap().len(), 0);
    // A second apply has nothing to do.
    let (code, out, _) = apply(dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes"), "{out}");
}

#[test]
fn a_failing_provider_stops_only_that_members_chain() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let (code, out, err) = apply(
        dir,
        &[
            "--target-arg",
            "--misbehave",
            "--target-arg",
            "exit3",
            "--target-arg",
            "--on",
            "--target-arg",
            "web05.dmz.contoso.local",
        ],
    );
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Failed"), "{out}");
    assert!(out.contains("web05.dmz.contoso.local"), "{out}");
    let state = provider_state(dir);
    assert_eq!(state["dropped"], serde_json::json!([]));
    assert_eq!(state["stranded"], serde_json::json!([]));
    let agents = state["observed"]["agents"].as_array().unwrap();
    for a in agents {
        let name = a["name"].as_str().unwrap();
        if name == "web05.dmz.contoso.local" {
            // Untouched: still on gw1, which therefore was not retired.
            assert_eq!(a["primary"], "gw1.dmz.contoso.local", "{a}");
        } else if name.starts_with("web") {
            assert_eq!(a["primary"], "gw2.dmz.contoso.local", "{a}");
            assert_eq!(
                a["failover"],
                serde_json::json!(["gw3.dmz.contoso.local"]),
                "{a}"
            );
        }
    }
    let gateways = state["observed"]["gateways"].as_array().unwrap();
    assert!(
        gateways
            .iter()
            .any(|g| g["name"] == "gw1.dmz.contoso.local"),
        "gw1 must not be retired while web05 lists it"
    );
}

#[test]
fn plan_from_a_sim_target_equals_plan_from_the_same_file() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let from_file = plan_json(dir, &["--observed", "estate.yaml"]);
    let from_sim = plan_json(dir, &["--target", "sim:estate.yaml"]);
    assert_eq!(from_file, from_sim);
    // Read-only: no lock, no snapshot, no journal.
    assert!(!dir.join(".handover").exists());
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // And from the provider program: the same estate, the same plan.
    let state_arg = format!("--state={}", dir.join("provider.json").display());
    let from_exec = plan_json(
        dir,
        &["--target", &target(), "--target-arg", state_arg.as_str()],
    );
    assert_eq!(from_file, from_exec);
    let calls = &provider_state(dir)["calls"];
    assert_eq!(calls, &serde_json::json!(["observe"]));
}

#[test]
fn plan_needs_exactly_one_source() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    for source in [
        &[][..],
        &["--observed", "estate.yaml", "--target", "sim:estate.yaml"][..],
    ] {
        let out = handover(dir)
            .args(["plan", "--desired", "desired.yaml"])
            .args(source)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{source:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--observed") && err.contains("--target"),
            "{err}"
        );
    }
}

#[test]
fn export_through_a_provider_program_is_a_valid_observed_document() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let out = handover(dir)
        .args(["export", "--target", &target(), "--target-arg", "--state"])
        .arg("--target-arg")
        .arg(dir.join("provider.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kind: Observed"), "{text}");
    std::fs::write(dir.join("exported.yaml"), &text).unwrap();
    handover(dir)
        .args(["validate", "exported.yaml"])
        .assert()
        .success();
    // The same estate as the file it started from.
    let a = handover::load::observed(&dir.join("exported.yaml")).unwrap();
    let b = handover::load::observed(&dir.join("estate.yaml")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_provider_that_cannot_start_is_an_error_naming_it() {
    let tmp = setup("replace-gateway");
    let out = handover(tmp.path())
        .args(["export", "--target", "exec:./no-such-provider"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-provider"), "{err}");
}

#[test]
fn provider_timeout_bounds_a_hung_provider() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let out = handover(dir)
        .args(["export", "--target", &target(), "--provider-timeout", "1s"])
        .args(["--target-arg", "--misbehave", "--target-arg", "hang"])
        .arg("--target-arg")
        .arg(format!("--state={}", dir.join("provider.json").display()))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1s") || err.contains("1 s"), "{err}");
    // The hung program was killed, not left behind.
    if let Ok(pid) = std::fs::read_to_string(dir.join("provider.pid")) {
        let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
        let gone = (0..50).any(|_| {
            let status = std::fs::read_to_string(proc_dir.join("status")).unwrap_or_default();
            let dead = status.is_empty() || status.contains("State:\tZ");
            if !dead {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            dead
        });
        assert!(gone, "provider {} still running", pid.trim());
    }
}

/// A call that times out may still have been applied (issue 16): the
/// provider applies web05's bridge and then hangs past `--provider-timeout`,
/// twice. The retries write the same parents again (idempotent, nothing
/// more changes), the third answers, and the estate converges
/// make-before-break with nobody cut off; the hung processes were killed.
#[test]
fn apply_converges_when_a_provider_applies_and_then_hangs() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let web05 = "web05.dmz.contoso.local";
    let (code, out, err) = apply(
        dir,
        &[
            "--provider-timeout",
            "1s",
            "--target-arg",
            "--apply-then-hang",
            "--target-arg",
            web05,
            "--target-arg",
            "--apply-then-hang-count",
            "--target-arg",
            "2",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Converged"), "{out}");
    let state = provider_state(dir);
    assert_eq!(state["answers_lost"], serde_json::json!([web05, web05]));
    assert_eq!(state["dropped"], serde_json::json!([]), "{state:#}");
    assert_eq!(state["stranded"], serde_json::json!([]), "{state:#}");
    // The bridge was written three times (two answers lost, the retry that
    // answered), then the prune once; gw1 was retired last.
    let applied = state["applied"].as_array().unwrap();
    let web05_ops: Vec<&Value> = applied.iter().filter(|op| op["name"] == web05).collect();
    assert_eq!(web05_ops.len(), 4, "{web05_ops:#?}");
    assert!(web05_ops[..3].iter().all(|op| op == &web05_ops[0]));
    assert!(
        web05_ops[0]["failover"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "gw1.dmz.contoso.local"),
        "the first write is a bridge: {}",
        web05_ops[0]
    );
    assert_eq!(applied.last().unwrap()["op"], "retire_gateway");
    let agent = state["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == web05)
        .unwrap();
    assert_eq!(agent["primary"], "gw2.dmz.contoso.local", "{agent}");
    assert_eq!(agent["connected"], "gw2.dmz.contoso.local", "{agent}");
    let pid = std::fs::read_to_string(dir.join("provider.pid")).unwrap();
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "provider {} still running",
        pid.trim()
    );
    let (code, out, _) = apply(dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes"), "{out}");
}

/// `reconcile --once` drives the same external provider process as `apply`
/// (issue 7: "apply and reconcile converge through exec"): it converges the
/// estate make-before-break, and a second pass has nothing to do.
#[test]
fn reconcile_once_converges_through_the_exec_provider() {
    let tmp = setup("replace-gateway");
    let dir = tmp.path();
    let reconcile = || {
        handover(dir)
            .args(["reconcile", "--once", "--desired", "desired.yaml"])
            .args(["--target", &target(), "--target-arg", "--state"])
            .arg("--target-arg")
            .arg(dir.join("provider.json"))
            .output()
            .unwrap()
    };
    let first = reconcile();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let state = provider_state(dir);
    assert_eq!(state["stranded"], serde_json::json!([]), "{state}");
    assert_eq!(state["dropped"], serde_json::json!([]), "{state}");
    let applied = state["applied"].as_array().unwrap().len();
    assert!(applied > 0, "{state}");
    let second = reconcile();
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        provider_state(dir)["applied"].as_array().unwrap().len(),
        applied,
        "a converged estate needs no further change"
    );
}
