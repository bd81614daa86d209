//! A progressive rollout's analysis judges the new parents' health
//! (docs/rollouts.md, "Health thresholds"): rehearsed, the overload
//! example with `failOnHealth` and `maxSendQueueSize` pauses while gw9
//! reports critical, before it carries enough agents to go down; through
//! `reconcile --once` and the exec test provider, a new gateway that
//! reports critical stops the rollout, and the reason reaches the journal.

mod common;

use assert_cmd::Command;
use common::overload::{DIR, doc_block, path, simulate};
use serde_json::Value;
use std::path::Path;

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");
const GW9: &str = "gw9.branch.contoso.local";

#[test]
fn the_health_thresholds_pause_the_rollout_before_the_gateway_goes_down() {
    let (code, out, _) = simulate("health", &[]);
    assert_eq!(code, 3, "paused is not converged, and safe:\n{out}");
    for want in [
        "step 2 of 3 starts: 10 members of this revision in all",
        "analysis failed during step 2: gateway gw9.branch.contoso.local, a new primary, reports health critical (the analysis fails on critical); gateway gw9.branch.contoso.local, a new primary, reports a send queue size of 1,000 (at most 900 allowed)",
        "Rollout paused at step 2 of 3",
        "no member was stranded",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    // gw9 never carried more than 12 agents, so it never went down and no
    // agent fell back to its failover.
    assert!(!out.contains("is down"), "{out}");
    assert!(!out.contains("not reporting to their new primary"), "{out}");
    assert_eq!(
        out,
        doc_block("rollout-health"),
        "docs/rollouts.md is out of date"
    );
}

#[test]
fn the_rehearsal_json_carries_the_health_reasons() {
    let (_, out, _) = simulate("health", &["--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let last = &v["rollout"]["last"];
    assert_eq!(last["phase"], "analysisFailed", "{last}");
    let reasons = last["analysis"]["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("reports health critical")),
        "{last}"
    );
}

#[test]
fn without_health_thresholds_the_same_rehearsal_ignores_the_reported_health() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(path("health.yaml"))
        .unwrap()
        .replace(
            "      failOnHealth: critical\n      maxSendQueueSize: 900\n",
            "",
        );
    let desired = tmp.path().join("desired.yaml");
    std::fs::write(&desired, text).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["simulate", "--desired"])
        .arg(&desired)
        .args([
            "--observed",
            &format!("{DIR}/observed.yaml"),
            "--faults",
            &format!("{DIR}/faults.yaml"),
        ])
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(!out.contains("reports health"), "{out}");
    assert!(
        out.contains("gateway gw9.branch.contoso.local, a new primary, is down"),
        "without thresholds the overload is seen only when gw9 drops:\n{out}"
    );
}

/// A directory with `desired.yaml` (the health example with `steps`) and
/// `provider.json` (the test provider's state: the example's estate, and
/// `health` reported for gw9).
fn exec_setup(steps: &str, gw9: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(path("health.yaml")).unwrap();
    let start = text.find("    steps:\n").unwrap();
    let end = text.find("    analysis:").unwrap();
    let text = format!("{}{steps}{}", &text[..start], &text[end..]);
    std::fs::write(tmp.path().join("desired.yaml"), text).unwrap();
    let mut state: Value = serde_json::from_slice(&common::estate::provider_state(Path::new(
        &path("observed.yaml"),
    )))
    .unwrap();
    state["health"] = serde_json::json!({ GW9: { "state": gw9, "sendQueueSize": 100 } });
    std::fs::write(
        tmp.path().join("provider.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    tmp
}

/// One `reconcile --once` through the test provider; (exit, stderr).
fn once(d: &Path) -> (i32, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .env("HANDOVER_LOCK_DIR", d.join("locks"))
        .args(["reconcile", "--once", "--desired", "desired.yaml"])
        .args([
            "--target",
            &format!("exec:{PROVIDER}"),
            "--target-arg",
            "--state",
        ])
        .arg("--target-arg")
        .arg(d.join("provider.json"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn provider_state(d: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(d.join("provider.json")).unwrap()).unwrap()
}

/// Agents whose configured primary is gw9, as the provider holds them.
fn on_gw9(d: &Path) -> usize {
    provider_state(d)["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["primary"] == GW9)
        .count()
}

/// The journal's last rollout state.
fn last_state(d: &Path) -> Value {
    std::fs::read_to_string(d.join(".handover/journal.jsonl"))
        .unwrap()
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["event"] == "rollout_state")
        .unwrap()
}

#[test]
fn a_new_gateway_reporting_critical_stops_the_rollout_through_the_exec_provider() {
    let tmp = exec_setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "warning",
    );
    let d = tmp.path();
    let (code, err) = once(d);
    assert_eq!(code, 3, "a rollout under way is not converged:\n{err}");
    assert_eq!(on_gw9(d), 5, "the first step moves five agents");
    // gw9 reports warning: within failOnHealth: critical, so it soaks.
    let (code, err) = once(d);
    assert_eq!(code, 3, "{err}");
    assert_eq!(last_state(d)["state"]["phase"], "soaking", "{err}");
    // Now gw9 reports critical: the next pass fails the analysis.
    let mut state = provider_state(d);
    state["health"][GW9]["state"] = "critical".into();
    std::fs::write(d.join("provider.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    let (code, err) = once(d);
    assert_eq!(code, 3, "{err}");
    let last = last_state(d);
    assert_eq!(last["state"]["phase"], "analysisFailed", "{last}");
    let want = "gateway gw9.branch.contoso.local, a new primary, reports health critical (the analysis fails on critical)";
    assert_eq!(last["state"]["reason"], want, "{last}");
    assert_eq!(on_gw9(d), 5, "nothing new started");
    assert!(err.contains(want), "the log says why:\n{err}");
    let (_, err) = once(d);
    assert_eq!(on_gw9(d), 5, "the rollout stays stopped:\n{err}");
}

#[test]
fn a_send_queue_over_the_bound_stops_the_rollout_through_the_exec_provider() {
    let tmp = exec_setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "healthy",
    );
    let d = tmp.path();
    once(d);
    let mut state = provider_state(d);
    state["health"][GW9]["sendQueueSize"] = 12_000.into();
    std::fs::write(d.join("provider.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    once(d);
    let last = last_state(d);
    assert_eq!(last["state"]["phase"], "analysisFailed", "{last}");
    assert_eq!(
        last["state"]["reason"],
        "gateway gw9.branch.contoso.local, a new primary, reports a send queue size of 12,000 (at most 900 allowed)",
        "{last}"
    );
    assert_eq!(on_gw9(d), 5);
}
