//! Progressive rollouts through `reconcile --once` against a `sim:`
//! target, and `handover resume`: each pass admits only its step, a soak
//! holds the rest (the journal remembers it across processes), a manual
//! pause waits for `handover resume`, a failed analysis stops the rollout
//! or rolls the moved agents back to gw1. (`apply` runs a rollout in one
//! blocking run: tests/apply_rollout.rs.)

mod notify_hook;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn example(f: &str) -> String {
    format!(
        "{}/examples/rollout-overload/{f}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A directory with `desired/desired.yaml` (the rollback example with
/// `steps` replaced) and the example's observed state as `estate.yaml`.
fn setup(steps: &str, on_failure: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("desired")).unwrap();
    let text = std::fs::read_to_string(example("rollback.yaml")).unwrap();
    let start = text.find("    steps:\n").unwrap();
    let end = text.find("    analysis:").unwrap();
    let text = format!("{}{steps}{}", &text[..start], &text[end..])
        .replace("onFailure: rollback", &format!("onFailure: {on_failure}"));
    std::fs::write(tmp.path().join("desired/desired.yaml"), text).unwrap();
    std::fs::copy(example("observed.yaml"), tmp.path().join("estate.yaml")).unwrap();
    tmp
}

/// One `reconcile --once`; its exit code and stderr.
fn once(d: &Path) -> (i32, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .args([
            "reconcile",
            "--once",
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Agents whose configured primary is `gw` in the target's file.
fn on(d: &Path, gw: &str) -> usize {
    std::fs::read_to_string(d.join("estate.yaml"))
        .unwrap()
        .matches(&format!("    primary: {gw}.branch.contoso.local"))
        .count()
}

/// The journal's rollout states, oldest first.
fn states(d: &Path) -> Vec<Value> {
    std::fs::read_to_string(d.join(".handover/journal.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "rollout_state")
        .collect()
}

fn last_phase(d: &Path) -> String {
    states(d).last().unwrap()["state"]["phase"]
        .as_str()
        .unwrap()
        .to_string()
}

fn resume(d: &Path) -> String {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .args(["resume", "--target", "sim:estate.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_pass_admits_its_step_and_a_soak_holds_the_rest_across_processes() {
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "pause",
    );
    let d = tmp.path();
    let (code, err) = once(d);
    assert_eq!(code, 3, "a rollout under way is not converged:\n{err}");
    assert_eq!(on(d, "gw9"), 5, "the first step moves five agents");
    assert_eq!(last_phase(d), "moving");
    let s = &states(d)[0]["state"];
    assert_eq!(s["total"], 40);
    assert_eq!(s["started"].as_array().unwrap().len(), 5);
    assert_eq!(
        s["started"][0]["before"]["primary"], "gw1.branch.contoso.local",
        "the parents before are recorded"
    );
    // The next process reads the journal: the five moved, the soak starts
    // and holds the other 35 for an hour of wall-clock time.
    let (code, _) = once(d);
    assert_eq!(code, 3);
    assert_eq!(last_phase(d), "soaking");
    assert_eq!(on(d, "gw9"), 5);
    let (code, _) = once(d);
    assert_eq!(code, 3);
    assert_eq!(on(d, "gw9"), 5, "still soaking");
}

#[test]
fn a_manual_pause_waits_for_handover_resume() {
    let tmp = setup(
        "    steps:\n      - {members: 5}\n      - {pause: true}\n      - {percent: 100}\n",
        "pause",
    );
    let d = tmp.path();
    once(d);
    assert_eq!(on(d, "gw9"), 5);
    once(d);
    assert_eq!(last_phase(d), "paused");
    once(d);
    assert_eq!(on(d, "gw9"), 5, "a pause is not ended by time");
    let said = resume(d);
    assert!(said.contains("Resume recorded"), "{said}");
    let (code, err) = once(d);
    assert_eq!(on(d, "gw9"), 40, "after the resume the rest moves:\n{err}");
    assert_eq!(code, 0, "every agent converged:\n{err}");
    // The next pass sees every step done.
    let (code, _) = once(d);
    assert_eq!(code, 0);
    assert_eq!(last_phase(d), "complete");
}

/// Takes gw9 down in the target's file, as if it had crashed.
fn crash_gw9(d: &Path) {
    let f = d.join("estate.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let at = text.find("  - name: gw9.branch.contoso.local").unwrap();
    let up = text[at..].find("    up: true").unwrap() + at;
    let text = format!(
        "{}    up: false{}",
        &text[..up],
        &text[up + "    up: true".len()..]
    );
    std::fs::write(&f, text).unwrap();
}

#[test]
fn a_failed_analysis_pauses_and_the_journal_says_why() {
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "pause",
    );
    let d = tmp.path();
    once(d);
    once(d);
    assert_eq!(last_phase(d), "soaking");
    crash_gw9(d);
    let (code, err) = once(d);
    assert_eq!(code, 3, "{err}");
    assert_eq!(last_phase(d), "analysisFailed");
    let last = states(d).pop().unwrap();
    let failed = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "analysisFailed")
        .unwrap_or_else(|| panic!("{last}"));
    let reasons = failed["reasons"].to_string();
    assert!(
        reasons.contains("gateway gw9.branch.contoso.local, a new primary, is down"),
        "{reasons}"
    );
    // Nothing new starts; the 35 stay on gw1.
    once(d);
    assert_eq!(on(d, "gw1"), 35);
    assert_eq!(last_phase(d), "analysisFailed");
}

#[test]
fn a_failed_analysis_rolls_the_moved_agents_back_to_gw1() {
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "rollback",
    );
    let d = tmp.path();
    once(d);
    once(d);
    crash_gw9(d);
    // The pass that sees the failure starts the rollback; the ones after
    // finish it, make before break, and then nothing else moves.
    for _ in 0..3 {
        once(d);
    }
    assert_eq!(last_phase(d), "rolledBack");
    assert_eq!(on(d, "gw1"), 40, "every agent is back on gw1");
    assert_eq!(on(d, "gw9"), 0);
    let text = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    assert_eq!(
        text.matches("    failover: [gw2.branch.contoso.local]")
            .count(),
        40,
        "with gw2 as failover, as before"
    );
    let (sim, _) = handover::sim::file::SimFile::open_read_only(&d.join("estate.yaml"), 0).unwrap();
    assert!(sim.sim().stranded().is_empty());
}

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// One `reconcile --once` against the exec test provider, whose state is
/// `provider.json` in `d`; its exit code and stderr.
fn once_exec(d: &Path) -> (i32, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .env("HANDOVER_LOCK_DIR", d.join("locks"))
        .args(["reconcile", "--once", "--desired", "desired"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .args(["--target-arg", "--state", "--target-arg"])
        .arg(d.join("provider.json"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Agents the exec test provider's estate has on `gw` as primary.
fn on_exec(d: &Path, gw: &str) -> usize {
    let state: Value =
        serde_json::from_slice(&std::fs::read(d.join("provider.json")).unwrap()).unwrap();
    let want = format!("{gw}.branch.contoso.local");
    state["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["primary"] == want.as_str())
        .count()
}

#[test]
fn the_exec_provider_moves_step_by_step_and_a_pause_waits_for_resume() {
    let tmp = setup(
        "    steps:\n      - {members: 5}\n      - {pause: true}\n      - {percent: 100}\n",
        "pause",
    );
    let d = tmp.path();
    let observed = handover::load::observed(&d.join("estate.yaml")).unwrap();
    std::fs::write(
        d.join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    let (code, err) = once_exec(d);
    assert_eq!(code, 3, "{err}");
    assert_eq!(on_exec(d, "gw9"), 5, "{err}");
    once_exec(d);
    assert_eq!(last_phase(d), "paused");
    once_exec(d);
    assert_eq!(on_exec(d, "gw9"), 5);
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .arg("resume")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, err) = once_exec(d);
    assert_eq!(on_exec(d, "gw9"), 40, "{err}");
    let state: Value =
        serde_json::from_slice(&std::fs::read(d.join("provider.json")).unwrap()).unwrap();
    assert_eq!(state["stranded"], serde_json::json!([]), "{state}");
    assert_eq!(state["dropped"], serde_json::json!([]), "make before break");
}

/// The receivers of `policy.notifications` hear of a failed analysis in a
/// reconcile pass: the pass that sees it sends `analysisFailed` (and
/// `degraded`), with the analysis's reason, not only `/status`.
#[test]
fn a_failed_analysis_is_told_to_the_receivers() {
    let hook = notify_hook::Hook::start(Vec::new());
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "pause",
    );
    let d = tmp.path();
    let f = d.join("desired/desired.yaml");
    let text = std::fs::read_to_string(&f).unwrap().replacen(
        "policy:\n",
        "policy:\n  notifications:\n    - name: ops\n      urlEnv: OPS_URL\n",
        1,
    );
    std::fs::write(&f, text).unwrap();
    let once = || {
        let out = Command::cargo_bin("handover")
            .unwrap()
            .current_dir(d)
            .env("OPS_URL", hook.url("ops"))
            .args(["reconcile", "--once", "--desired", "desired"])
            .args(["--target", "sim:estate.yaml"])
            .output()
            .unwrap();
        String::from_utf8(out.stderr).unwrap()
    };
    once();
    once();
    crash_gw9(d);
    let before = hook.to("/ops").len();
    let err = once();
    assert_eq!(last_phase(d), "analysisFailed", "{err}");
    let got = hook.to("/ops");
    let told: Vec<&serde_json::Value> = got[before..].iter().map(|g| &g.body).collect();
    let failed = told
        .iter()
        .find(|b| b["event"] == "analysisFailed")
        .unwrap_or_else(|| panic!("no analysisFailed among {told:#?}\n{err}"));
    assert!(
        failed.to_string().contains("gw9.branch.contoso.local"),
        "{failed:#}"
    );
}
