//! The Central Management Store end to end (issue 8): `handover simulate`
//! over the store examples and fault files, and the executor driving the
//! simulator through a both-active failover and a plan where the store and
//! agent moves run side by side.

use assert_cmd::Command;
use handover::execute::{EngineOptions, Silent, StepOutcome, apply_plan};
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
        text.contains("Failed: a change failed for 1 member (refused by the provider, timed out, a provider error, or stopped by handover's check): pool2.contoso.local"),
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
fn apply_once(faults: &str) -> handover::execute::EngineReport {
    let desired = handover::load::topology_str(DESIRED, "d.yaml").unwrap();
    let observed = handover::load::observed_str(OBSERVED, "o.yaml").unwrap();
    let faults = FaultSchedule::parse(faults, "f.yaml").unwrap();
    let mut sim = Sim::try_new(&observed, SimConfig::seeded(7).with_faults(faults)).unwrap();
    let plan = handover::plan::plan(&desired, &observed);
    let opts = EngineOptions::from_policy(&desired.policy);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(apply_plan(&mut sim, &plan, &opts, &observed, &mut Silent))
}

fn step<'a>(
    r: &'a handover::execute::EngineReport,
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

/// The simulator behind a provider whose `store_failover` answers are lost:
/// the call either ran (`ran: true`) or did not, and handover hears a
/// transient error ("timed out") either way.
struct LostAnswer {
    sim: Sim,
    ran: bool,
    store_calls: u32,
}

impl handover::provider::Provider for LostAnswer {
    async fn observe(
        &mut self,
        scope: &handover::provider::Scope,
    ) -> Result<handover::model::Observed, handover::provider::ProviderError> {
        self.sim.observe(scope).await
    }

    async fn apply(
        &mut self,
        op: &handover::provider::Operation,
    ) -> Result<(), handover::provider::ProviderError> {
        if !matches!(op, handover::provider::Operation::StoreFailover { .. }) {
            return self.sim.apply(op).await;
        }
        self.store_calls += 1;
        if self.ran {
            self.sim.apply(op).await?;
        }
        Err(handover::provider::ProviderError::Transient(
            "provider test (apply): timed out after 30m; the program was killed".into(),
        ))
    }
}

impl handover::provider::Clock for LostAnswer {
    fn now(&self) -> std::time::Duration {
        self.sim.now()
    }

    async fn sleep(&mut self, d: std::time::Duration) {
        self.sim.advance(d)
    }
}

fn apply_losing_answers(ran: bool) -> (handover::execute::EngineReport, LostAnswer) {
    use handover::provider::Provider as _;
    let desired = handover::load::topology_str(DESIRED, "d.yaml").unwrap();
    let observed = handover::load::observed_str(OBSERVED, "o.yaml").unwrap();
    let mut target = LostAnswer {
        sim: Sim::try_new(&observed, SimConfig::seeded(7)).unwrap(),
        ran,
        store_calls: 0,
    };
    let plan = handover::plan::plan(&desired, &observed);
    let opts = EngineOptions::from_policy(&desired.policy);
    assert_eq!(opts.store_timeout, std::time::Duration::from_secs(1800));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(apply_plan(
        &mut target,
        &plan,
        &opts,
        &observed,
        &mut Silent,
    ));
    // Whatever happened, a fresh plan never asks for a second failover
    // while the first may be under way.
    let now = rt
        .block_on(target.observe(&handover::provider::Scope::All))
        .unwrap();
    let again = handover::plan::plan(&desired, &now);
    if let Some(st) = &now.management_store
        && st.active_pools().is_empty()
    {
        assert!(
            again
                .blocked
                .iter()
                .any(|b| b.reason.code() == "store_active_pool_unknown"),
            "{again:?}"
        );
    }
    (r, target)
}

#[test]
fn a_failover_whose_answer_is_lost_is_observed_not_invoked_again() {
    // The failover ran; the answer was lost. The executor observes the
    // store (mid-failover: active in no pool, so it waits), sees it active
    // in pool2 and counts the failover as applied: one call, no retry.
    let (r, target) = apply_losing_answers(true);
    assert_eq!(target.store_calls, 1, "never retried blind");
    let failover = step(&r, "store_failover", "pool2");
    assert_eq!(failover.outcome, StepOutcome::Applied, "{r:?}");
    assert_eq!(failover.attempts, 1);
    assert_eq!(
        step(&r, "await_store_active", "pool2").outcome,
        StepOutcome::Satisfied
    );
    assert!(r.pending.is_empty() && r.failed.is_empty(), "{r:?}");
    let st = target.sim.snapshot(&handover::provider::Scope::All);
    assert!(
        st.management_store
            .unwrap()
            .active_only_in(&handover::name::Name::parse("pool2").unwrap())
    );
}

#[test]
fn a_failover_that_did_not_run_is_pending_after_the_store_timeout_not_retried() {
    // The answer was lost and the failover never ran. The executor keeps
    // observing for storeTimeout (it might still be starting), never
    // invokes it again, and reports the store pending.
    let (r, target) = apply_losing_answers(false);
    assert_eq!(target.store_calls, 1, "never retried blind");
    let failover = step(&r, "store_failover", "pool2");
    assert_eq!(failover.outcome, StepOutcome::TimedOut, "{r:?}");
    let waited = failover.finished.unwrap() - failover.started.unwrap();
    assert!((1800.0..1800.0 + 60.0).contains(&waited), "{failover:?}");
    assert!(r.pending.iter().any(|n| n.as_str() == "pool2"), "{r:?}");
    assert!(matches!(
        step(&r, "await_store_active", "pool2").outcome,
        StepOutcome::NotStarted { .. }
    ));
    // The member moves went on meanwhile.
    assert_eq!(
        step(&r, "set_parents", "web01").outcome,
        StepOutcome::Applied
    );
}

#[test]
fn mid_failover_the_store_is_unknown_and_never_a_disaster() {
    // Disaster recovery allowed, pool1 observed up: a planned failover is
    // under way. While it runs the store is active in no pool; the plan
    // then blocks (unknown) instead of planning a disaster failover, and
    // the executor would not invoke one either.
    use handover::provider::Provider as _;
    let desired = handover::load::topology_str(
        &DESIRED.replace(
            "managementStore: {pool: pool2}",
            "managementStore: {pool: pool2, disasterRecovery: {allowed: true, backupSqlServer: sql2}}",
        ),
        "d.yaml",
    )
    .unwrap();
    let observed = handover::load::observed_str(OBSERVED, "o.yaml").unwrap();
    let mut sim = Sim::try_new(&observed, SimConfig::seeded(7)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plan = handover::plan::plan(&desired, &observed);
    let failover = plan
        .steps
        .iter()
        .find(|s| matches!(s.action, handover::plan::Action::StoreFailover { .. }))
        .unwrap();
    let op = match &failover.action {
        handover::plan::Action::StoreFailover { pool, mode, .. } => {
            assert_eq!(*mode, handover::plan::FailoverMode::Planned);
            handover::provider::Operation::StoreFailover {
                pool: pool.clone(),
                mode: *mode,
                backup_sql_server: None,
                backup_sql_instance: None,
                backup_mirror_sql_server: None,
                backup_mirror_sql_instance: None,
                restore: false,
            }
        }
        _ => unreachable!(),
    };
    rt.block_on(sim.apply(&op)).unwrap();
    let mid = rt
        .block_on(sim.observe(&handover::provider::Scope::All))
        .unwrap();
    assert_eq!(mid.management_store.as_ref().unwrap().active_pool, None);
    let p = handover::plan::plan(&desired, &mid);
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(s.action, handover::plan::Action::StoreFailover { .. })),
        "{p:?}"
    );
    let b = p
        .blocked
        .iter()
        .find(|b| b.kind == handover::plan::BlockedKind::Store)
        .unwrap();
    assert_eq!(b.reason.code(), "store_active_pool_unknown");
    assert_eq!(b.name.as_str(), "pool2");
    // A hand-made disaster failover against that observation is not
    // invoked by the executor: the store stays as it is, pending.
    let disaster = handover::plan::Plan::new(
        vec![handover::plan::Step {
            id: 1,
            action: handover::plan::Action::StoreFailover {
                pool: handover::name::Name::parse("pool2").unwrap(),
                mode: handover::plan::FailoverMode::Disaster,
                backup_sql_server: Some(handover::name::Name::parse("sql2").unwrap()),
                backup_sql_instance: None,
                backup_mirror_sql_server: None,
                backup_mirror_sql_instance: None,
                restore: false,
            },
            after: vec![],
        }],
        vec![],
    );
    let before = sim.calls().apply;
    let r = rt.block_on(apply_plan(
        &mut sim,
        &disaster,
        &EngineOptions::from_policy(&desired.policy),
        &mid,
        &mut Silent,
    ));
    assert_eq!(sim.calls().apply, before, "nothing was sent");
    let StepOutcome::NotStarted { reason } = &r.steps[0].outcome else {
        panic!("{r:?}");
    };
    assert!(
        reason.starts_with("not invoked: the Central Management Store is active in no pool"),
        "{reason}"
    );
    assert_eq!(
        r.pending.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["pool2"]
    );
}
