//! The exec target end to end: `ExecProvider` drives the real
//! `handover-test-provider` program as a separate process, for every
//! request, every misbehaviour the protocol document lists, and whole
//! executor passes where one member's provider calls misbehave.

mod exec_fake;

use exec_fake::{PlanBuilder, agent, desired, mini_planner, n, p};
use handover::execute::{
    ConvergeOptions, EngineOptions, RetryPolicy, Silent, StepOutcome, StopReason, apply_plan,
    converge,
};
use handover::model::{
    MemberKind, Observed, ObservedMember, ObservedPool, ObservedServer, ObservedStore,
};
use handover::name::Name;
use handover::plan::FailoverMode;
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::{Operation, Provider, ProviderError, Scope};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_handover-test-provider");

fn member(name: &str, parent: &str) -> ObservedMember {
    ObservedMember {
        name: n(name),
        parents: p(parent, &[]),
        connected: Some(n(parent)),
        up: true,
        ready: true,
        evidence: None,
    }
}

/// ms1, ms2; gateways gw1, gw2 on ms1; agents a00..a03 on gw1, all
/// connected; a store active in pool1.
fn estate() -> Observed {
    let mut o = Observed::new();
    o.management_servers = ["ms1", "ms2"]
        .iter()
        .map(|s| ObservedServer {
            name: n(s),
            up: true,
        })
        .collect();
    o.gateways = vec![member("gw1", "ms1"), member("gw2", "ms1")];
    o.agents = (0..4).map(|i| member(agent(i).as_str(), "gw1")).collect();
    o.management_store = Some(ObservedStore {
        active_pool: Some(n("pool1")),
        pools: vec![
            ObservedPool {
                name: n("pool1"),
                up: true,
                active: false,
            },
            ObservedPool {
                name: n("pool2"),
                up: true,
                active: false,
            },
        ],
        replication_complete: true,
    });
    o
}

struct Rig {
    _dir: tempfile::TempDir,
    state: PathBuf,
}

impl Rig {
    fn new() -> Rig {
        Rig::in_subdir("")
    }

    fn in_subdir(sub: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        let state = d.join("state.json");
        let doc = serde_json::json!({ "observed": estate() });
        std::fs::write(&state, serde_json::to_vec(&doc).unwrap()).unwrap();
        Rig { _dir: dir, state }
    }

    fn provider(&self, extra: &[&str]) -> ExecProvider {
        self.provider_with(extra, quick())
    }

    fn provider_with(&self, extra: &[&str], config: ExecConfig) -> ExecProvider {
        let mut args = vec!["--state".to_string(), self.state.display().to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        ExecProvider::new(BIN, args, config)
    }

    fn read(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap()
    }

    fn calls(&self) -> Vec<String> {
        serde_json::from_value(self.read()["calls"].clone()).unwrap()
    }

    fn applied(&self) -> Vec<Operation> {
        serde_json::from_value(self.read()["applied"].clone()).unwrap()
    }

    fn observed(&self) -> Observed {
        serde_json::from_value(self.read()["observed"].clone()).unwrap()
    }
}

/// Generous limits for calls that should succeed; 1 MiB for apply.
fn quick() -> ExecConfig {
    ExecConfig {
        capabilities_timeout: Duration::from_secs(20),
        observe_timeout: Duration::from_secs(20),
        apply_timeout: Duration::from_secs(20),
        ..ExecConfig::default()
    }
}

fn short_timeouts() -> ExecConfig {
    ExecConfig {
        capabilities_timeout: Duration::from_millis(700),
        observe_timeout: Duration::from_millis(700),
        apply_timeout: Duration::from_millis(700),
        ..ExecConfig::default()
    }
}

fn move_a(i: usize, primary: &str, failover: &[&str]) -> Operation {
    Operation::SetParents {
        kind: MemberKind::Agent,
        name: agent(i),
        parents: p(primary, failover),
    }
}

fn find<'a>(o: &'a Observed, name: &Name) -> &'a ObservedMember {
    o.agents
        .iter()
        .chain(o.gateways.iter())
        .find(|m| &m.name == name)
        .unwrap()
}

fn permanent(r: Result<impl std::fmt::Debug, ProviderError>) -> String {
    match r {
        Err(ProviderError::Permanent(m)) => m,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

fn transient(r: Result<impl std::fmt::Debug, ProviderError>) -> String {
    match r {
        Err(ProviderError::Transient(m)) => m,
        other => panic!("expected a transient error, got {other:?}"),
    }
}

#[tokio::test]
async fn capabilities_are_asked_once() {
    let rig = Rig::new();
    let mut prov = rig.provider(&["--operations", "set_parents,store_failover"]);
    let caps = prov.capabilities().await.unwrap().clone();
    assert_eq!(caps.operations, ["set_parents", "store_failover"]);
    assert_eq!(caps.provider.as_deref(), Some("handover-test-provider"));
    prov.apply(&move_a(0, "gw2", &["gw1"])).await.unwrap();
    assert_eq!(rig.calls(), ["capabilities", "apply a00"]);
}

#[tokio::test]
async fn observe_reads_the_estate_or_only_the_scoped_members() {
    let rig = Rig::new();
    let mut prov = rig.provider(&[]);
    let all = prov.observe(&Scope::All).await.unwrap();
    assert_eq!(all, estate());
    let some = prov
        .observe(&Scope::Members(vec![agent(1), n("gw2")]))
        .await
        .unwrap();
    assert_eq!(some.management_servers.len(), 2, "servers always come");
    let agents: Vec<&str> = some.agents.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(agents, ["a01"], "only the scoped agents");
    // The simulator also returns every gateway (they are servers, which
    // are cheap); the scoped one must be among them.
    assert!(some.gateways.iter().any(|g| g.name == n("gw2")));
}

#[tokio::test]
async fn apply_changes_the_estate_and_the_member_connects_on_a_later_observe() {
    let rig = Rig::new();
    let mut prov = rig.provider(&[]);
    prov.apply(&move_a(2, "gw2", &["gw1"])).await.unwrap();
    let o = rig.observed();
    assert_eq!(find(&o, &agent(2)).parents, p("gw2", &["gw1"]));
    // ack-after 1: the next observation sees it on gw2.
    let seen = prov.observe(&Scope::Members(vec![agent(2)])).await.unwrap();
    assert_eq!(find(&seen, &agent(2)).connected, Some(n("gw2")));
    prov.apply(&Operation::StoreFailover {
        pool: n("pool2"),
        mode: FailoverMode::Planned,
        backup_sql_server: None,
        backup_sql_instance: None,
        backup_mirror_sql_server: None,
        backup_mirror_sql_instance: None,
        restore: false,
    })
    .await
    .unwrap();
    // The failover takes the simulator 60 s to 180 s: the next observe
    // (which moves virtual time on by --step, 300 s) sees it done.
    let seen = prov.observe(&Scope::All).await.unwrap();
    assert_eq!(seen.management_store.unwrap().active_pool, Some(n("pool2")));
    assert_eq!(
        rig.observed().management_store.unwrap().active_pool,
        Some(n("pool2"))
    );
}

#[tokio::test]
async fn an_unsupported_operation_is_refused_without_calling_apply() {
    let rig = Rig::new();
    let mut prov = rig.provider(&["--operations", "set_parents"]);
    let m = permanent(
        prov.apply(&Operation::RetireGateway { name: n("gw1") })
            .await,
    );
    assert!(m.contains("does not support retire_gateway"), "{m}");
    assert!(m.contains("supports: set_parents"), "{m}");
    assert_eq!(rig.calls(), ["capabilities"]);
}

#[tokio::test]
async fn a_provider_reported_error_keeps_its_message_and_retryability() {
    let rig = Rig::new();
    let m = permanent(
        rig.provider(&["--misbehave", "error", "--on", "observe"])
            .observe(&Scope::All)
            .await,
    );
    assert!(
        m.contains("access is denied") && m.contains("exited with status 1"),
        "{m}"
    );
    let m = transient(
        rig.provider(&["--misbehave", "exit3-retryable", "--on", "observe"])
            .observe(&Scope::All)
            .await,
    );
    assert!(m.contains("the SDK service is busy"), "{m}");
    // A provider's own refusal (unknown member) is an ordinary error.
    let mut prov = rig.provider(&[]);
    let m = permanent(prov.apply(&move_a(9, "gw2", &[])).await);
    assert!(m.contains("unknown agent a09"), "{m}");
}

#[tokio::test]
async fn a_non_zero_exit_without_a_response_names_the_status_and_stderr() {
    let rig = Rig::new();
    let m = permanent(
        rig.provider(&["--misbehave", "exit3"])
            .observe(&Scope::All)
            .await,
    );
    assert!(m.contains("exited with status 3"), "{m}");
    assert!(m.contains("wrote no response"), "{m}");
    assert!(m.contains("the SDK service refused the connection"), "{m}");
}

#[tokio::test]
async fn a_hung_provider_times_out_and_is_killed() {
    let rig = Rig::new();
    let mut prov = rig.provider_with(&["--misbehave", "hang"], short_timeouts());
    let m = transient(prov.observe(&Scope::All).await);
    assert!(m.contains("timed out after 700ms"), "{m}");
    assert!(m.contains("killed"), "{m}");
    let pid = std::fs::read_to_string(rig.state.with_extension("pid")).unwrap();
    if cfg!(target_os = "linux") {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "provider process {pid} is still there"
        );
    }
}

#[tokio::test]
async fn garbage_on_stdout_is_refused_with_offset_and_first_bytes() {
    let rig = Rig::new();
    let m = permanent(
        rig.provider(&["--misbehave", "garbage"])
            .observe(&Scope::All)
            .await,
    );
    assert!(m.contains("not valid JSON at byte 0"), "{m}");
    assert!(m.contains("<html><body>500"), "{m}");
}

#[tokio::test]
async fn truncated_json_is_refused_as_truncated() {
    let rig = Rig::new();
    let m = permanent(
        rig.provider(&["--misbehave", "truncated"])
            .observe(&Scope::All)
            .await,
    );
    assert!(m.contains("truncated: it ends at byte"), "{m}");
    assert!(m.contains(r#"{\"protocol\":1"#), "{m}");
}

#[tokio::test]
async fn huge_output_is_cut_off_and_the_provider_killed() {
    let rig = Rig::new();
    let mut prov = rig.provider(&["--misbehave", "huge", "--on", "apply"]);
    let m = permanent(prov.apply(&move_a(0, "gw2", &["gw1"])).await);
    assert!(m.contains("more than 1 MiB"), "{m}");
    // Observe has a larger cap; a smaller one applies the same way.
    let small = ExecConfig {
        observe_max_bytes: 4 << 20,
        ..quick()
    };
    let mut prov = rig.provider_with(&["--misbehave", "huge"], small);
    let m = permanent(prov.observe(&Scope::All).await);
    assert!(m.contains("more than 4 MiB"), "{m}");
    // Under the cap, 50 MB is read whole; it is simply not an observation.
    let big = ExecConfig {
        observe_max_bytes: 64 << 20,
        ..quick()
    };
    let mut prov = rig.provider_with(&["--misbehave", "huge"], big);
    let m = permanent(prov.observe(&Scope::All).await);
    assert!(m.contains("no `observed` object"), "{m}");
}

#[tokio::test]
async fn stderr_noise_is_drained_and_ignored() {
    let rig = Rig::new();
    let mut prov = rig.provider(&["--misbehave", "stderr-noise"]);
    assert_eq!(prov.observe(&Scope::All).await.unwrap(), estate());
    prov.apply(&move_a(1, "gw2", &["gw1"])).await.unwrap();
    assert_eq!(find(&rig.observed(), &agent(1)).parents, p("gw2", &["gw1"]));
}

#[tokio::test]
async fn silence_and_a_foreign_protocol_version_are_refused() {
    let rig = Rig::new();
    let m = permanent(
        rig.provider(&["--misbehave", "silent"])
            .observe(&Scope::All)
            .await,
    );
    assert!(
        m.contains("exited successfully and wrote no response"),
        "{m}"
    );
    let m = permanent(
        rig.provider(&["--misbehave", "wrong-protocol"])
            .observe(&Scope::All)
            .await,
    );
    assert!(m.contains("protocol version 2"), "{m}");
}

#[tokio::test]
async fn a_missing_program_is_a_clear_permanent_error() {
    let mut prov = ExecProvider::new("/nonexistent/handover-provider", vec![], quick());
    let m = permanent(prov.observe(&Scope::All).await);
    assert!(
        m.contains("cannot start /nonexistent/handover-provider"),
        "{m}"
    );
}

#[tokio::test]
async fn arguments_are_never_seen_by_a_shell() {
    let rig = Rig::in_subdir("a b;$(touch pwned)`touch pwned2`");
    let mut prov = rig.provider(&[]);
    assert_eq!(prov.observe(&Scope::All).await.unwrap(), estate());
    let root = rig.state.parent().unwrap().parent().unwrap();
    assert!(!root.join("pwned").exists() && !Path::new("pwned").exists());
    assert!(!root.join("pwned2").exists() && !Path::new("pwned2").exists());
}

fn pass_opts() -> EngineOptions {
    EngineOptions {
        max_in_flight: 2,
        ack_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(5),
        retry: RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        },
        ..EngineOptions::default()
    }
}

/// A make-before-break plan moving a00..a03 from gw1 to gw2, applied
/// through the exec provider while a01's provider calls misbehave.
async fn pass_with_a01(mode: &str) {
    let rig = Rig::new();
    let mut b = PlanBuilder::default();
    for i in 0..4 {
        b.mbb(&agent(i), "gw1", "gw2", &[]);
    }
    let plan = b.build();
    let mut prov = rig.provider_with(&["--misbehave", mode, "--on", "a01"], short_timeouts());
    let r = apply_plan(&mut prov, &plan, &pass_opts(), &estate(), &mut Silent).await;

    assert_eq!(r.failed, vec![agent(1)], "{mode}: {r:?}");
    let a01: Vec<&StepOutcome> = r
        .steps
        .iter()
        .filter(|s| s.name == agent(1))
        .map(|s| &s.outcome)
        .collect();
    assert!(
        matches!(a01[0], StepOutcome::Failed { .. }),
        "{mode}: {a01:?}"
    );
    assert!(
        a01[1..]
            .iter()
            .all(|o| matches!(o, StepOutcome::NotStarted { .. })),
        "{mode}: {a01:?}"
    );
    let o = rig.observed();
    // a01 untouched, still talking to its old parent.
    assert_eq!(find(&o, &agent(1)).parents, p("gw1", &[]), "{mode}");
    assert_eq!(find(&o, &agent(1)).connected, Some(n("gw1")), "{mode}");
    // Everyone else moved make-before-break, nobody was dropped.
    for i in [0, 2, 3] {
        let m = find(&o, &agent(i));
        assert_eq!(m.parents, p("gw2", &[]), "{mode} {}", agent(i));
        assert_eq!(m.connected, Some(n("gw2")), "{mode} {}", agent(i));
    }
    assert_eq!(rig.read()["dropped"], serde_json::json!([]), "{mode}");
    assert!(
        rig.applied().iter().all(|op| !matches!(
            op, Operation::SetParents { name, .. } if name == &agent(1)
        )),
        "{mode}"
    );
    assert_eq!(r.pruned, 3, "{mode}");
}

#[tokio::test]
async fn a_pass_survives_a_provider_that_exits_non_zero_for_one_member() {
    pass_with_a01("exit3").await;
}

#[tokio::test]
async fn a_pass_survives_a_provider_that_hangs_for_one_member() {
    pass_with_a01("hang").await;
}

#[tokio::test]
async fn a_pass_survives_garbage_truncation_and_floods_for_one_member() {
    for mode in ["garbage", "truncated", "huge", "silent"] {
        pass_with_a01(mode).await;
    }
}

#[tokio::test]
async fn converge_through_the_exec_provider() {
    let rig = Rig::new();
    let names: Vec<Name> = (0..4).map(agent).collect();
    let want = desired(&names, "gw2");
    let opts = ConvergeOptions {
        exec: pass_opts(),
        max_passes: 20,
        settle: Duration::from_secs(5),
    };
    let mut prov = rig.provider(&[]);
    let r = converge(&mut prov, &want, mini_planner, &opts, &mut Silent).await;
    assert!(r.converged, "{r:?}");
    assert_eq!(r.stop, StopReason::Converged);
    assert_eq!(r.moved, 4);
    assert!(r.max_in_flight <= 2);
    assert_eq!(rig.read()["dropped"], serde_json::json!([]));
}

/// A provider that exits but leaves a child holding its stdout: the read
/// never ends, the call times out, and the child dies with the group.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_child_left_holding_stdout_is_killed_with_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = format!("sleep 30 & echo $! > '{}'; exit 0", pidfile.display());
    let mut prov = ExecProvider::new("/bin/sh", vec!["-c".into(), script], short_timeouts());
    let m = transient(prov.observe(&Scope::All).await);
    assert!(m.contains("timed out"), "{m}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    // Killed: gone, or a zombie waiting for its new parent to reap it.
    let mut alive = true;
    for _ in 0..100 {
        alive = std::fs::read_to_string(&stat)
            .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
            .unwrap_or(false);
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive, "the provider's child {} survived", pid.trim());
}

/// When observation itself misbehaves, no await can be satisfied, so no
/// bridge is ever pruned: every member ends pending in its bridge, safe.
#[tokio::test]
async fn a_pass_whose_polls_fail_prunes_nothing() {
    let rig = Rig::new();
    let mut b = PlanBuilder::default();
    for i in 0..4 {
        b.mbb(&agent(i), "gw1", "gw2", &[]);
    }
    let plan = b.build();
    let mut prov = rig.provider_with(&["--misbehave", "garbage", "--on", "observe"], quick());
    let opts = EngineOptions {
        ack_timeout: Duration::from_millis(300),
        ..pass_opts()
    };
    let r = apply_plan(&mut prov, &plan, &opts, &estate(), &mut Silent).await;
    assert_eq!(r.pending, (0..4).map(agent).collect::<Vec<_>>(), "{r:?}");
    assert_eq!((r.bridged, r.pruned), (4, 0));
    assert!(r.observe_calls > 0);
    let o = rig.observed();
    for i in 0..4 {
        assert_eq!(find(&o, &agent(i)).parents, p("gw2", &["gw1"]));
    }
    assert_eq!(rig.read()["dropped"], serde_json::json!([]));
}
