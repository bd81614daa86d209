//! `handover apply` under `policy.rollout` through the exec test provider
//! (`handover-test-provider`, a separate process per request), with soaks
//! of a second on the wall clock: the steps in order, make before break;
//! and gw9 made under-sized (an `overload` fault in the provider's
//! simulator), so step 2 takes it down: the analysis fails, and the run
//! pauses (later agents untouched) or rolls the moved agents back to gw1.

mod apply_rollout_shared;

use apply_rollout_shared::{example, handover, last_phase, output, setup, timeline};
use handover::sim::{FaultSchedule, Sim, SimConfig};
use serde_json::Value;
use std::path::Path;

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// Short waits on the wall clock: a poll a second, a member given 5 s to
/// reach its new primary (the provider shows each change within one
/// observation).
const FAST: &str = "  poll: {interval: 1s, max: 1s}\n";

/// Writes the provider's state: the example's estate, with `faults` in
/// its simulator when given.
fn provider(d: &Path, faults: Option<&str>) {
    let observed = handover::load::observed(Path::new(&example("observed.yaml"))).unwrap();
    let mut state = serde_json::json!({ "observed": observed });
    if let Some(f) = faults {
        let faults = FaultSchedule::parse(f, "faults.yaml").unwrap();
        let sim = Sim::try_new(&observed, SimConfig::seeded(0).with_faults(faults)).unwrap();
        state["sim"] = Value::String(sim.save_json());
    }
    std::fs::write(d.join("provider.json"), serde_json::to_vec(&state).unwrap()).unwrap();
}

fn provider_state(d: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(d.join("provider.json")).unwrap()).unwrap()
}

/// `apply --format json` through the provider; the exit code, the
/// document and stderr.
fn apply(d: &Path) -> (i32, Value, String) {
    let (code, out, err) = output(
        handover(d)
            .args(["apply", "--auto-approve", "--desired", "desired"])
            .args(["--ack-timeout", "5s", "--format", "json"])
            .args(["--target", &format!("exec:{PROVIDER}")])
            .args(["--target-arg", "--state", "--target-arg"])
            .arg(d.join("provider.json")),
    );
    let doc = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, doc, err)
}

/// Agents the provider's estate has on `gw` as primary.
fn on(d: &Path, gw: &str) -> usize {
    let want = format!("{gw}.branch.contoso.local");
    provider_state(d)["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["primary"] == want.as_str())
        .count()
}

/// Nobody was cut off from its server by a write, nobody stranded.
fn make_before_break(d: &Path) {
    let state = provider_state(d);
    assert_eq!(state["dropped"], serde_json::json!([]), "make before break");
    assert_eq!(state["stranded"], serde_json::json!([]), "nobody stranded");
}

#[test]
fn the_steps_run_in_order_each_soaking_on_the_wall_clock() {
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1s}\n      - {percent: 50, soak: 2s}\n      - {percent: 100}\n",
        "pause",
        FAST,
    );
    let d = tmp.path();
    provider(d, None);
    let (code, doc, err) = apply(d);
    assert_eq!(code, 0, "{doc}\n{err}");
    assert_eq!(doc["verdict"], "converged");
    assert_eq!(on(d, "gw9"), 40);
    make_before_break(d);
    assert_eq!(doc["rollout"]["last"]["phase"], "complete");
    let events: Vec<String> = timeline(&doc)
        .into_iter()
        .map(|(e, s)| format!("{e} {s}"))
        .collect();
    assert_eq!(
        events[..5],
        [
            "stepStarted 1",
            "soakStarted 1",
            "stepStarted 2",
            "soakStarted 2",
            "stepStarted 3"
        ],
        "{events:?}"
    );
    // Step 1's five agents were moved, bridge and prune, before any other
    // agent was written to.
    let applied = provider_state(d)["applied"].as_array().unwrap().clone();
    let mut first: Vec<String> = Vec::new();
    for op in &applied {
        let n = op["name"].as_str().unwrap_or_default().to_string();
        if !first.contains(&n) {
            first.push(n);
        }
    }
    let step1 = &first[..5];
    let last_of_step1 = applied
        .iter()
        .rposition(|op| step1.iter().any(|n| op["name"] == n.as_str()))
        .unwrap();
    let first_of_rest = applied
        .iter()
        .position(|op| !step1.iter().any(|n| op["name"] == n.as_str()))
        .unwrap();
    assert!(last_of_step1 < first_of_rest, "{applied:#?}");
    assert_eq!(last_phase(d), "complete");
}

const OVERLOAD: &str = "faults:\n  - overload: {server: gw9.branch.contoso.local, above: 12}\n";
const STEPS: &str = "    steps:\n      - {members: 5, soak: 1s}\n      - {members: 20, soak: 1s}\n      - {percent: 100}\n";

#[test]
fn an_overloaded_gateway_fails_the_analysis_and_the_run_pauses() {
    let tmp = setup(STEPS, "pause", FAST);
    let d = tmp.path();
    provider(d, Some(OVERLOAD));
    let (code, doc, err) = apply(d);
    assert_eq!(code, 3, "{doc}\n{err}");
    assert_eq!(doc["verdict"], "not_converged");
    assert_eq!(doc["rollout"]["last"]["phase"], "analysisFailed");
    let reasons = doc["rollout"]["last"]["analysis"]["reasons"].to_string();
    assert!(reasons.contains("gw9.branch.contoso.local"), "{reasons}");
    assert!(
        err.contains("the analysis failed") && err.contains("handover resume --target"),
        "{err}"
    );
    assert_eq!(on(d, "gw1"), 20, "step 3's agents were not touched");
    assert_eq!(last_phase(d), "analysisFailed");
    make_before_break(d);
}

#[test]
fn an_overloaded_gateway_fails_the_analysis_and_the_agents_go_back_to_gw1() {
    let tmp = setup(STEPS, "rollback", FAST);
    let d = tmp.path();
    provider(d, Some(OVERLOAD));
    let (code, doc, err) = apply(d);
    assert_eq!(code, 3, "{doc}\n{err}");
    assert_eq!(doc["rollout"]["last"]["phase"], "rolledBack", "{err}");
    assert!(err.contains("Rollout rolled back at step 2 of 3"), "{err}");
    assert_eq!(on(d, "gw1"), 40, "every agent is back on gw1");
    make_before_break(d);
    let rolled = timeline(&doc);
    assert!(
        rolled.iter().any(|(e, _)| e == "rollbackStarted")
            && rolled.last().unwrap().0 == "rolledBack",
        "{rolled:?}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_soak_stops_at_once_and_the_journal_keeps_the_place() {
    let tmp = setup(
        "    steps:\n      - {members: 5, soak: 1h}\n      - {percent: 100}\n",
        "pause",
        FAST,
    );
    let d = tmp.path();
    provider(d, None);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(d)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", d.join("locks"))
        .args(["apply", "--auto-approve", "--desired", "desired"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .args(["--target-arg", "--state", "--target-arg"])
        .arg(d.join("provider.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the journal says step 1 soaks (an hour: only Ctrl-C ends
    // this run), then interrupt.
    let mut soaking = false;
    for _ in 0..600 {
        if apply_rollout_shared::states(d)
            .iter()
            .any(|s| s["state"]["phase"] == "soaking")
        {
            soaking = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(soaking, "step 1 never soaked");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("Interrupted")
            && stdout.contains("Rollout interrupted at step 1 of 2 (soaking)"),
        "{stdout}"
    );
    assert_eq!(last_phase(d), "soaking", "the journal keeps the place");
    assert_eq!((on(d, "gw9"), on(d, "gw1")), (5, 35));
    make_before_break(d);
}
