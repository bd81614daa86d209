//! The Central Management Store end to end (issue 8): `handover simulate`
//! over the store examples and fault files, and the executor driving the
//! simulator through a both-active failover and a plan where the store and
//! agent moves run side by side.

use assert_cmd::Command;
use handover::execute::{ExecOptions, Silent, StepOutcome, apply_plan};
use handover::sim::{FaultSchedule, Sim, SimConfig};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `handover simulate` with a topology example's desired file, another
/// example's observed file, and an optional faults file.
fn simulate(desired: &str, observed: &str, faults: Option<&str>, json: bool) -> (i32, String) {
    let t = root().join("examples/topologies");
    let mut c = Command::cargo_bin("handover").unwrap();
    c.arg("simulate")
        .arg("--desired")
        .arg(t.join(desired).join("desired.yaml"))
        .arg("--observed")
        .arg(t.join(observed).join("observed.yaml"));
    if let Some(f) = faults {
        c.arg("--faults")
            .arg(root().join("examples/faults").join(f));
    }
    if json {
        c.args(["--format", "json"]);
    }
    let out = c.output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn json(desired: &str, observed: &str, faults: Option<&str>) -> (i32, serde_json::Value) {
    let (code, out) = simulate(desired, observed, faults, true);
    (code, serde_json::from_str(&out).unwrap())
}

const FAILOVER: &str = "management-store-failover";
const DR: &str = "management-store-disaster-recovery";

#[test]
fn a_planned_failover_converges() {
    let (code, v) = json(FAILOVER, FAILOVER, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["converged"], true);
    assert_eq!(v["steps_applied"], 1);
    let (_, text) = simulate(FAILOVER, FAILOVER, None, false);
    assert!(
        text.contains(
            "Central Management Store: active in pool2.contoso.local, and in no other pool.\n"
        ),
        "{text}"
    );
    assert!(!text.contains("disaster"), "{text}");
}

#[test]
fn active_pool_down_with_disaster_recovery_allowed_converges_and_says_what_it_skipped() {
    let (code, v) = json(DR, FAILOVER, Some("store-active-pool-down.yaml"));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["converged"], true);
    let (_, text) = simulate(DR, FAILOVER, Some("store-active-pool-down.yaml"), false);
    assert!(
        text.contains("1 disaster-recovery failover (-Force) ran: the replication check was skipped, and changes written to the store since the last replication may be lost."),
        "{text}"
    );
    // The example's own observed state: pool1 already down.
    let (code, v) = json(DR, DR, None);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn active_pool_down_without_disaster_recovery_is_blocked_with_the_reason() {
    let (code, v) = json(FAILOVER, FAILOVER, Some("store-active-pool-down.yaml"));
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["converged"], false);
    assert_eq!(v["blocked"], serde_json::json!(["pool2.contoso.local"]));
    assert_eq!(v["steps_applied"], 0);
    let (_, text) = simulate(
        FAILOVER,
        FAILOVER,
        Some("store-active-pool-down.yaml"),
        false,
    );
    assert!(
        text.contains("Central Management Store: blocked: the active pool pool1.contoso.local is down and a failover would need disaster-recovery mode; set managementStore.disasterRecovery.allowed: true and backupSqlServer to allow it."),
        "{text}"
    );
}

#[test]
fn both_pools_active_after_a_failover_is_a_failure_never_a_success() {
    let (code, v) = json(FAILOVER, FAILOVER, Some("store-both-active.yaml"));
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["converged"], false);
    assert_eq!(v["stranded"], serde_json::json!([]));
    assert_eq!(v["blocked"], serde_json::json!(["pool2.contoso.local"]));
    let (_, text) = simulate(FAILOVER, FAILOVER, Some("store-both-active.yaml"), false);
    assert!(
        text.contains("Failed: the provider refused a change, or a check failed, for 1 member: pool2.contoso.local"),
        "{text}"
    );
    assert!(
        text.contains("Central Management Store: FAILED: active in 2 pools at once (pool2.contoso.local, pool1.contoso.local)"),
        "{text}"
    );
}

#[test]
fn slow_replication_makes_the_plan_wait_and_it_converges_later() {
    let (code, v) = json(FAILOVER, FAILOVER, Some("store-slow-replication.yaml"));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["converged"], true);
    // Replication takes 40 minutes: the failover waited for it.
    assert!(v["virtual_seconds"].as_f64().unwrap() >= 2400.0, "{v}");
    let (_, fast) = json(FAILOVER, FAILOVER, None);
    assert!(fast["virtual_seconds"].as_f64().unwrap() < 2400.0, "{fast}");
}

#[test]
fn a_target_pool_that_stops_during_the_failover_delays_but_does_not_stop_it() {
    let (code, v) = json(FAILOVER, FAILOVER, Some("store-pool-restarts.yaml"));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["converged"], true);
    // The first failover failed with its target; a later pass ran another.
    assert_eq!(v["steps_applied"], 2, "{v}");
}

const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1}]
gateways:
  - {name: gw1, primary: ms1, connected: ms1}
  - {name: gw2, primary: ms1, connected: ms1}
agents:
  - {name: web01, primary: gw1, connected: gw1}
  - {name: web02, primary: gw1, connected: gw1}
managementStore:
  activePool: pool1
  pools: [{name: pool1}, {name: pool2}]
  replicationComplete: true
";

const DESIRED: &str = "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1}]
gateways: [{name: gw1, primary: ms1}, {name: gw2, primary: ms1}]
agents: [{name: web01, primary: gw2}, {name: web02, primary: gw2}]
managementStore: {pool: pool2}
policy: {ackTimeout: 40m}
";

/// Plans DESIRED against OBSERVED and applies the plan once to a simulator
/// with `faults`.
fn apply_once(faults: &str) -> handover::execute::ExecReport {
    let desired = handover::load::topology_str(DESIRED, "d.yaml").unwrap();
    let observed = handover::load::observed_str(OBSERVED, "o.yaml").unwrap();
    let faults = FaultSchedule::parse(faults, "f.yaml").unwrap();
    let mut sim = Sim::try_new(&observed, SimConfig::seeded(7).with_faults(faults)).unwrap();
    let plan = handover::plan::plan(&desired, &observed);
    let opts = ExecOptions::from_policy(&desired.policy);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(apply_plan(&mut sim, &plan, &opts, &observed, &mut Silent))
}

fn step<'a>(
    r: &'a handover::execute::ExecReport,
    action: &str,
    name: &str,
) -> &'a handover::execute::StepRecord {
    r.steps
        .iter()
        .rev()
        .find(|s| s.action == action && s.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {action} {name}"))
}

#[test]
fn the_executor_fails_await_store_active_when_both_pools_are_active() {
    let r = apply_once("faults:\n  - bothActive: true\n");
    let s = step(&r, "await_store_active", "pool2");
    let StepOutcome::Failed { reason } = &s.outcome else {
        panic!("{:?}", s.outcome);
    };
    assert!(
        reason.contains("active in 2 pools at once (pool2, pool1)"),
        "{reason}"
    );
    // At once, not after the 40 minute acknowledgment timeout.
    assert!(s.finished.unwrap() < 600.0, "{s:?}");
    assert!(r.failed.iter().any(|n| n.as_str() == "pool2"));
    assert!(!r.pending.iter().any(|n| n.as_str() == "pool2"));
}

#[test]
fn a_store_change_and_agent_moves_do_not_wait_for_each_other() {
    // Replication takes 20 minutes; web02 never acknowledges.
    let r = apply_once("faults:\n  - replicationLag: 20m\n  - neverAck: [web02]\n");
    let web01 = step(&r, "set_parents", "web01");
    let failover = step(&r, "store_failover", "pool2");
    // web01 was moved and pruned long before the store's replication ended.
    assert_eq!(web01.outcome, StepOutcome::Applied);
    assert!(web01.finished.unwrap() < 600.0, "{web01:?}");
    assert!(failover.started.unwrap() >= 1200.0, "{failover:?}");
    // The store reached pool2 although web02 never acknowledged.
    assert_eq!(
        step(&r, "await_store_active", "pool2").outcome,
        StepOutcome::Satisfied
    );
    assert_eq!(
        step(&r, "await_connected", "web02").outcome,
        StepOutcome::TimedOut
    );
    assert_eq!(
        r.pending.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["web02"]
    );
}
