//! Unit tests of the simulator's rules, faults, store and persistence.

use super::*;
use crate::provider::{Operation, ProviderError, Scope};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// ms1, ms2; gw1..gw3 on ms1 (failover ms2), gw3 not ready unless told;
/// agents a1..a3 on gw1 (failover gw2 for a1).
const ESTATE: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1}, {name: ms2}]
gateways:
  - {name: gw1, primary: ms1, failover: [ms2], connected: ms1}
  - {name: gw2, primary: ms1, failover: [ms2], connected: ms1}
  - {name: gw3, primary: ms1, failover: [ms2], connected: ms1, ready: false}
agents:
  - {name: a1, primary: gw1, failover: [gw2], connected: gw1}
  - {name: a2, primary: gw1, connected: gw1}
  - {name: a3, primary: gw1, connected: gw1}
managementStore:
  activePool: pool1
  pools: [{name: pool1}, {name: pool2}]
  replicationComplete: false
";

fn observed() -> crate::model::Observed {
    crate::load::observed_str(ESTATE, "estate.yaml").unwrap()
}

fn sim(seed: u64, faults: &str) -> Sim {
    let faults = FaultSchedule::parse(faults, "faults.yaml").unwrap();
    Sim::try_new(&observed(), SimConfig::seeded(seed).with_faults(faults)).unwrap()
}

fn set(name: &str, primary: &str, failover: &[&str]) -> Operation {
    Operation::SetParents {
        kind: if name.starts_with("gw") {
            MemberKind::Gateway
        } else {
            MemberKind::Agent
        },
        name: n(name),
        parents: Parents {
            primary: n(primary),
            failover: failover.iter().map(|f| n(f)).collect(),
        },
    }
}

fn connected(sim: &Sim, name: &str) -> Option<String> {
    sim.member(&n(name))
        .unwrap()
        .connected
        .map(|c| c.to_string())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Steps one second at a time until `cond` holds; returns the time it did.
fn until(sim: &mut Sim, limit: u64, cond: impl Fn(&Sim) -> bool) -> Option<u64> {
    for _ in 0..limit {
        if cond(sim) {
            return Some(sim.now().as_secs());
        }
        sim.advance(secs(1));
    }
    cond(sim).then(|| sim.now().as_secs())
}

#[test]
fn an_idle_estate_is_quiescent_and_connected_as_observed() {
    let mut s = sim(1, "faults: []");
    assert_eq!(connected(&s, "a1").as_deref(), Some("gw1"));
    // gw3 is not ready: no management server accepts it, whatever the
    // observation said; it tries once at its retry and parks.
    assert_eq!(connected(&s, "gw3"), None);
    s.advance(secs(60));
    // Only the store's replication is scheduled.
    assert_eq!(s.pending_events(), 1);
    assert_eq!(connected(&s, "gw3"), None);
    assert!(s.stranded().is_empty());
    assert_eq!(s.next_fault_at(), None);
}

#[test]
fn a_bridge_is_learned_after_the_propagation_delay() {
    for seed in 0..20 {
        let mut s = sim(seed, "faults: []");
        s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
        let view = s.member(&n("a2")).unwrap();
        assert_eq!(view.configured.primary, n("gw2"));
        assert_eq!(
            view.learned.primary,
            n("gw1"),
            "the member has not learned yet"
        );
        let t = until(&mut s, 200, |s| {
            connected(s, "a2").as_deref() == Some("gw2")
        })
        .unwrap();
        assert!(
            (30..=121).contains(&t),
            "seed {seed}: connected to gw2 after {t} s"
        );
        assert_eq!(s.member(&n("a2")).unwrap().learned.primary, n("gw2"));
        assert!(s.stranded().is_empty());
    }
}

#[test]
fn a_change_during_the_delay_is_learned_when_it_fires() {
    let mut s = sim(3, "faults: []");
    s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
    s.advance(secs(10));
    s.apply_now(&set("a2", "gw2", &["ms1", "gw1"])).unwrap();
    s.advance(secs(120));
    let v = s.member(&n("a2")).unwrap();
    assert_eq!(v.learned, v.configured);
    assert_eq!(v.learned.failover, vec![n("ms1"), n("gw1")]);
}

#[test]
fn dropping_the_connected_parent_strands_the_member() {
    let mut s = sim(1, "faults: []");
    s.apply_now(&set("a2", "gw2", &[])).unwrap();
    assert_eq!(connected(&s, "a2"), None, "gw1 drops it at once");
    s.advance(secs(3600));
    assert_eq!(s.stranded(), vec![n("a2")]);
    assert!(s.is_quiescent(), "a stranded member is parked, not polled");
}

#[test]
fn a_down_gateways_agents_fail_over_and_fail_back() {
    let mut s = sim(
        5,
        "faults:\n  - at: 10s\n    down: gw1\n  - at: 300s\n    up: gw1\n",
    );
    assert_eq!(s.next_fault_at(), Some(secs(10)));
    s.advance(secs(11));
    assert_eq!(connected(&s, "a1"), None);
    assert_eq!(s.next_fault_at(), Some(secs(300)));
    s.advance(secs(60));
    assert_eq!(
        connected(&s, "a1").as_deref(),
        Some("gw2"),
        "failed over through its list"
    );
    assert_eq!(connected(&s, "a2"), None, "no failover: only disconnected");
    assert!(s.stranded().is_empty(), "down servers do not strand");
    s.advance(secs(60));
    // Only the `up` fault (and the store's replication) is scheduled.
    assert!(
        s.pending_events() <= 2,
        "everyone waits for gw1 without polling"
    );
    s.advance(secs(300 - 131));
    assert_eq!(s.next_fault_at(), None);
    s.advance(secs(61));
    for a in ["a1", "a2", "a3"] {
        assert_eq!(
            connected(&s, a).as_deref(),
            Some("gw1"),
            "{a} back on its primary"
        );
    }
    assert!(s.is_quiescent());
}

#[test]
fn a_disconnected_member_tries_its_learned_list_in_order() {
    let o = crate::load::observed_str(
        "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1}]
gateways:
  - {name: gw1, primary: ms1, connected: ms1}
  - {name: gw2, primary: ms1, connected: ms1}
  - {name: gw3, primary: ms1, connected: ms1}
agents:
  - {name: a1, primary: gw1, failover: [gw2, gw3], connected: gw1}
",
        "o.yaml",
    )
    .unwrap();
    let faults = FaultSchedule::parse("faults:\n  - down: [gw1, gw2]\n", "f.yaml").unwrap();
    let mut s = Sim::from_observed(&o, SimConfig::seeded(2).with_faults(faults));
    s.advance(secs(61));
    assert_eq!(connected(&s, "a1").as_deref(), Some("gw3"));
}

#[test]
fn offline_members_do_nothing_until_online() {
    let mut s = sim(
        4,
        "faults:\n  - offline: [a2]\n  - at: 600s\n    online: a2\n",
    );
    assert_eq!(connected(&s, "a2"), None);
    s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
    s.advance(secs(590));
    let v = s.member(&n("a2")).unwrap();
    assert!(!v.online);
    assert_eq!(v.learned.primary, n("gw1"));
    assert!(s.stranded().is_empty(), "offline members are not stranded");
    assert_eq!(s.snapshot(&Scope::All).agents[1].connected, None);
    s.advance(secs(300));
    assert_eq!(connected(&s, "a2").as_deref(), Some("gw2"));
}

#[test]
fn a_gateway_that_is_not_ready_accepts_nobody_until_ready() {
    let mut s = sim(6, "faults:\n  - at: 900s\n    ready: gw3\n");
    s.apply_now(&set("a3", "gw3", &["gw1"])).unwrap();
    s.advance(secs(600));
    let v = s.member(&n("a3")).unwrap();
    assert_eq!(v.learned.primary, n("gw3"), "learned from gw1");
    assert_eq!(v.connected, Some(n("gw1")), "gw3 is not ready");
    assert!(s.is_quiescent() || s.next_event_at() >= Some(secs(900)));
    s.advance(secs(361));
    assert_eq!(connected(&s, "a3").as_deref(), Some("gw3"));
}

#[test]
fn never_ack_members_keep_their_learned_configuration() {
    let mut s = sim(7, "faults:\n  - neverAck: a2\n");
    s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
    s.advance(secs(3600));
    let v = s.member(&n("a2")).unwrap();
    assert!(v.never_ack);
    assert_eq!(v.learned.primary, n("gw1"));
    assert_eq!(v.connected, Some(n("gw1")));
    s.apply_now(&set("a2", "gw2", &[])).unwrap();
    assert_eq!(
        s.stranded(),
        vec![n("a2")],
        "pruning before acknowledgment strands it"
    );
}

#[test]
fn gateways_are_members_of_their_management_servers() {
    let mut s = sim(8, "faults:\n  - at: 5s\n    down: ms1\n");
    s.advance(secs(6));
    // gw1 lost its path to a management server: its agents are cut off
    // (still connected, nothing relayed), not stranded.
    assert_eq!(s.gateway_has_path(&n("gw1")), Some(false));
    assert_eq!(connected(&s, "a2").as_deref(), Some("gw1"));
    s.advance(secs(64));
    assert_eq!(connected(&s, "gw1").as_deref(), Some("ms2"));
    assert_eq!(s.gateway_has_path(&n("gw1")), Some(true));
    assert_eq!(
        connected(&s, "a1").as_deref(),
        Some("gw1"),
        "agents stay on their gateway"
    );
    assert!(
        s.stranded_ever().is_empty(),
        "cut off for a while is not stranded"
    );
    s.apply_now(&set("gw2", "ms2", &["ms1"])).unwrap();
    s.advance(secs(200));
    assert_eq!(connected(&s, "gw2").as_deref(), Some("ms2"));
}

#[test]
fn provider_errors_are_transient_deterministic_and_have_no_effect() {
    let run = |seed| {
        let mut s = sim(seed, "faults:\n  - providerErrorRate: 0.3\n");
        let mut outcomes = Vec::new();
        for i in 0..100 {
            let op = set(
                "a2",
                if i % 2 == 0 { "gw2" } else { "gw1" },
                &["gw1", "gw2"][i % 2..=i % 2],
            );
            let before = s.member(&n("a2")).unwrap().configured;
            let r = s.apply_now(&op);
            if let Err(e) = &r {
                assert!(e.is_transient());
                assert_eq!(
                    s.member(&n("a2")).unwrap().configured,
                    before,
                    "a failed apply has no effect"
                );
            }
            outcomes.push(r.is_ok());
            outcomes.push(s.observe_now(&Scope::All).is_ok());
        }
        (outcomes, s.calls())
    };
    let (a, calls) = run(11);
    let (b, _) = run(11);
    assert_eq!(a, b, "same seed, same failures");
    let failures = a.iter().filter(|ok| !**ok).count();
    assert!(
        (30..=90).contains(&failures),
        "{failures} of 200 calls failed"
    );
    assert_eq!(calls.transient_failures as usize, failures);
    assert_eq!(calls.apply, 100);
    assert_eq!(calls.observe, 100);
    assert_ne!(run(12).0, a, "another seed, other failures");
}

#[test]
fn apply_is_idempotent_and_refuses_unknown_names() {
    let mut s = sim(1, "faults: []");
    s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
    let saved = s.save_json();
    s.apply_now(&set("a2", "gw2", &["gw1"])).unwrap();
    assert_eq!(s.calls().changes, 1);
    let mut t = Sim::load_json(&saved).unwrap();
    t.calls = s.calls;
    assert_eq!(t.save_json(), s.save_json(), "the repeat changed nothing");
    for (op, want) in [
        (set("nope", "gw2", &[]), "unknown agent nope"),
        (set("a2", "gw9", &[]), "unknown parent gw9"),
        (set("a2", "gw2", &["gw2"]), "listed twice"),
        (set("gw1", "gw1", &[]), "its own parent"),
    ] {
        match s.apply_now(&op) {
            Err(ProviderError::Permanent(msg)) => assert!(msg.contains(want), "{msg}"),
            other => panic!("{op:?}: {other:?}"),
        }
    }
}

#[test]
fn retiring_a_gateway_waits_until_nothing_lists_it() {
    let mut s = sim(1, "faults: []");
    let retire = Operation::RetireGateway { name: n("gw1") };
    let err = s.apply_now(&retire).unwrap_err();
    assert!(
        err.to_string().contains("still a parent of 3 member(s)"),
        "{err}"
    );
    for a in ["a1", "a2", "a3"] {
        s.apply_now(&set(a, "gw2", &["gw1"])).unwrap();
    }
    s.advance(secs(200));
    for a in ["a1", "a2", "a3"] {
        s.apply_now(&set(a, "gw2", &[])).unwrap();
    }
    s.apply_now(&retire).unwrap();
    s.apply_now(&retire).unwrap();
    assert!(s.member(&n("gw1")).is_none());
    assert!(
        s.snapshot(&Scope::All)
            .gateways
            .iter()
            .all(|g| g.name != n("gw1"))
    );
    assert!(s.stranded().is_empty());
}

#[test]
fn observing_members_returns_every_server_and_only_those_agents() {
    let mut s = sim(1, "faults: []");
    let o = s
        .observe_now(&Scope::Members(vec![n("a3"), n("A1"), n("zz")]))
        .unwrap();
    assert_eq!(o.management_servers.len(), 2);
    assert_eq!(o.gateways.len(), 3);
    let names: Vec<String> = o.agents.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(names, vec!["a1", "a3"]);
    assert!(!o.gateways[2].ready);
}

#[test]
fn a_member_observed_on_a_server_that_would_not_accept_it_starts_disconnected() {
    let o = crate::load::observed_str(
        "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1}]
gateways:
  - {name: gw1, primary: ms1, connected: ms1}
  - {name: gw2, primary: ms1, connected: ms1}
agents:
  - {name: a1, primary: gw1, connected: gw2}
",
        "o.yaml",
    )
    .unwrap();
    let mut s = Sim::from_observed(&o, SimConfig::seeded(1));
    assert_eq!(connected(&s, "a1"), None);
    s.advance(secs(60));
    assert_eq!(connected(&s, "a1").as_deref(), Some("gw1"));
}

fn store_op(pool: &str, mode: crate::plan::FailoverMode, backup: Option<&str>) -> Operation {
    Operation::StoreFailover {
        pool: n(pool),
        mode,
        backup_sql_server: backup.map(n),
        backup_sql_instance: None,
        backup_mirror_sql_server: None,
        backup_mirror_sql_instance: None,
        restore: false,
    }
}

#[test]
fn a_planned_store_failover_waits_for_replication() {
    use crate::plan::FailoverMode::Planned;
    let mut s = sim(1, "faults: []");
    let err = s.apply_now(&store_op("pool2", Planned, None)).unwrap_err();
    assert!(err.to_string().contains("replication"), "{err}");
    s.advance(secs(301));
    assert!(
        s.snapshot(&Scope::All)
            .management_store
            .unwrap()
            .replication_complete
    );
    s.apply_now(&store_op("pool2", Planned, None)).unwrap();
    s.apply_now(&store_op("pool2", Planned, None)).unwrap();
    assert_eq!(s.calls().changes, 1, "a repeat is a no-op");
    // Mid-failover the store is active in no pool: unknown, not down.
    let mid = s.snapshot(&Scope::All).management_store.unwrap();
    assert_eq!(mid.active_pool, None);
    assert!(mid.active_pools().is_empty());
    assert!(mid.pools.iter().all(|p| p.up && !p.active));
    s.advance(secs(181));
    let store = s.snapshot(&Scope::All).management_store.unwrap();
    assert_eq!(store.active_pool, Some(n("pool2")));
    assert!(
        !store.replication_complete,
        "replication restarts after a failover"
    );
    s.advance(secs(301));
    assert!(
        s.snapshot(&Scope::All)
            .management_store
            .unwrap()
            .replication_complete
    );
    assert!(s.is_quiescent());
}

#[test]
fn a_disaster_failover_needs_the_active_pool_down_and_a_backup() {
    use crate::plan::FailoverMode::{Disaster, Planned};
    let mut s = sim(1, "faults:\n  - at: 10s\n    down: pool1\n");
    let err = s
        .apply_now(&store_op("pool2", Disaster, Some("sql2")))
        .unwrap_err();
    assert!(err.to_string().contains("active pool is up"), "{err}");
    s.advance(secs(20));
    let err = s.apply_now(&store_op("pool2", Planned, None)).unwrap_err();
    assert!(err.to_string().contains("active pool is down"), "{err}");
    let err = s.apply_now(&store_op("pool2", Disaster, None)).unwrap_err();
    assert!(err.to_string().contains("backup SQL server"), "{err}");
    let err = s
        .apply_now(&store_op("pool7", Disaster, Some("sql2")))
        .unwrap_err();
    assert!(err.to_string().contains("unknown pool pool7"), "{err}");
    s.apply_now(&store_op("pool2", Disaster, Some("sql2")))
        .unwrap();
    s.advance(secs(181));
    assert_eq!(
        s.snapshot(&Scope::All)
            .management_store
            .unwrap()
            .active_pool,
        Some(n("pool2"))
    );
}

#[test]
fn the_both_active_fault_leaves_the_store_in_two_pools() {
    use crate::plan::FailoverMode::Planned;
    let mut s = sim(1, "faults:\n  - bothActive: true\n");
    s.advance(secs(301));
    s.apply_now(&store_op("pool2", Planned, None)).unwrap();
    s.advance(secs(181));
    let store = s.snapshot(&Scope::All).management_store.unwrap();
    assert_eq!(store.active_pool, Some(n("pool2")));
    assert_eq!(store.active_pools(), [&n("pool2"), &n("pool1")]);
    assert!(!store.active_only_in(&n("pool2")));
    // The hazard is reported, never repaired by another failover.
    let err = s.apply_now(&store_op("pool1", Planned, None)).unwrap_err();
    assert!(err.to_string().contains("more than one pool"), "{err}");
    // It survives a save and load, and an observed file can carry it.
    let again = Sim::load_json(&s.save_json()).unwrap();
    let o = again.snapshot(&Scope::All);
    assert_eq!(o.management_store.as_ref().unwrap().active_pools().len(), 2);
    let back = Sim::from_observed(&o, SimConfig::seeded(1));
    assert_eq!(
        back.snapshot(&Scope::All).management_store,
        o.management_store
    );
}

#[test]
fn a_pool_marked_active_is_the_active_pool_when_active_pool_is_null() {
    let o = crate::load::observed_str(
        "apiVersion: handover/v1\nkind: Observed\nmanagementStore:\n  activePool: null\n  pools: [{name: pool1}, {name: pool2, active: true}]\n",
        "o.yaml",
    )
    .unwrap();
    let s = Sim::from_observed(&o, SimConfig::seeded(1));
    let store = s.snapshot(&Scope::All).management_store.unwrap();
    assert_eq!(store.active_pool, Some(n("pool2")));
    assert!(store.active_only_in(&n("pool2")));
}

#[test]
fn a_failover_whose_target_stops_fails_and_replication_resumes() {
    use crate::plan::FailoverMode::Planned;
    let mut s = sim(
        1,
        "faults:\n  - at: 310s\n    down: pool2\n  - at: 900s\n    up: pool2\n",
    );
    s.advance(secs(301));
    s.apply_now(&store_op("pool2", Planned, None)).unwrap();
    s.advance(secs(300));
    let store = s.snapshot(&Scope::All).management_store.unwrap();
    assert_eq!(store.active_pool, Some(n("pool1")), "the failover failed");
    // pool1 replicates again, so a new planned failover can run later.
    s.advance(secs(300));
    assert!(
        s.snapshot(&Scope::All)
            .management_store
            .unwrap()
            .replication_complete
    );
}

#[test]
fn without_the_fault_a_failover_leaves_one_active_pool() {
    use crate::plan::FailoverMode::Planned;
    let mut s = sim(1, "faults:\n  - bothActive: true\n  - bothActive: false\n");
    s.advance(secs(301));
    s.apply_now(&store_op("pool2", Planned, None)).unwrap();
    s.advance(secs(181));
    let store = s.snapshot(&Scope::All).management_store.unwrap();
    assert!(store.active_only_in(&n("pool2")));
}

#[test]
fn the_replication_lag_fault_restarts_replication_slowly() {
    let mut s = sim(1, "faults:\n  - at: 400s\n    replicationLag: 40m\n");
    let complete = |s: &Sim| {
        s.snapshot(&Scope::All)
            .management_store
            .unwrap()
            .replication_complete
    };
    s.advance(secs(399));
    assert!(complete(&s), "the observed replication finished (<= 300 s)");
    s.advance(secs(1));
    assert!(!complete(&s), "the replicas fell behind");
    s.advance(secs(2399));
    assert!(!complete(&s));
    s.advance(secs(1));
    assert!(complete(&s));
}

#[test]
fn try_new_refuses_faults_naming_unknown_hosts() {
    let faults = FaultSchedule::parse("faults:\n  - down: gw9\n", "f.yaml").unwrap();
    let err = Sim::try_new(&observed(), SimConfig::seeded(1).with_faults(faults)).unwrap_err();
    assert!(
        err.to_string().starts_with("f.yaml:2:5: down names gw9"),
        "{err}"
    );
}

fn scenario(s: &mut Sim) {
    let _ = s.apply_now(&set("a1", "gw2", &["gw1"]));
    s.advance(secs(45));
    let _ = s.apply_now(&set("a2", "gw3", &["gw1"]));
    s.advance(secs(400));
    let _ = s.observe_now(&Scope::All);
}

const BUSY: &str = "faults:
  - at: 30s
    down: gw1
  - at: 200s
    up: gw1
  - at: 250s
    ready: gw3
  - providerErrorRate: 0.2
";

#[test]
fn the_same_seed_and_calls_give_the_same_state() {
    let mut a = sim(42, BUSY);
    let mut b = sim(42, BUSY);
    scenario(&mut a);
    scenario(&mut b);
    assert_eq!(a.save_json(), b.save_json());
    let mut c = sim(43, BUSY);
    scenario(&mut c);
    assert_ne!(a.save_json(), c.save_json());
}

#[test]
fn a_saved_simulation_continues_identically() {
    let mut a = sim(9, BUSY);
    let _ = a.apply_now(&set("a1", "gw2", &["gw1"]));
    a.advance(secs(40));
    let saved = a.save_json();
    let mut b = Sim::load_json(&saved).unwrap();
    assert_eq!(b.save_json(), saved, "load then save gives the same text");
    scenario(&mut a);
    scenario(&mut b);
    assert_eq!(a.save_json(), b.save_json());
    assert!(matches!(Sim::load_json("{}"), Err(LoadError::Json(_))));
}

#[test]
fn the_clock_trait_advances_virtual_time() {
    use crate::provider::{Clock, Provider};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut s = sim(1, "faults: []");
    rt.block_on(async {
        s.apply(&set("a2", "gw2", &["gw1"])).await.unwrap();
        Clock::sleep(&mut s, secs(7200)).await;
        assert_eq!(Clock::now(&s), secs(7200));
        let o = s.observe(&Scope::Members(vec![n("a2")])).await.unwrap();
        assert_eq!(o.agents[0].connected, Some(n("gw2")));
    });
}

/// Bookkeeping that must hold after any call: connections are accepted
/// (a gateway's path aside: a member stays connected, cut off, to a
/// gateway that loses its path),
/// the per-server sets agree, and no member that needs something is
/// forgotten (it has a retry queued, or is parked on a wait list).
fn check_invariants(s: &Sim) {
    for (i, m) in s.members.iter().enumerate() {
        let id = i as u32;
        if let Some(c) = m.connected {
            assert!(s.active(id), "{} is connected but not active", m.name);
            assert!(
                s.admits(c, id),
                "{} is connected to a server that would not accept it",
                m.name
            );
            assert!(s.servers[c as usize].connected.contains(&id));
        }
        if s.active(id) && m.connected != Some(m.learned.primary) {
            assert!(
                m.retry_pending || m.parked,
                "{} needs a retry and has none",
                m.name
            );
        }
        // A cut-off member learns once its gateway has a path again.
        if s.active(id)
            && m.connected.is_some()
            && !m.never_ack
            && m.mg != m.learned
            && !s.cut_off(id)
        {
            assert!(
                m.learn_pending,
                "{} must learn and has no learn queued",
                m.name
            );
        }
    }
    let total: usize = s.servers.iter().map(|x| x.connected.len()).sum();
    assert_eq!(
        total,
        s.members.iter().filter(|m| m.connected.is_some()).count()
    );
}

/// Once quiescent, nothing that could progress is left waiting.
fn check_settled(s: &Sim) {
    for (i, m) in s.members.iter().enumerate() {
        let id = i as u32;
        if !s.active(id) {
            continue;
        }
        match m.connected {
            None => assert!(
                !m.learned.iter().any(|x| s.accepts(x, id)),
                "{} is disconnected although a learned server accepts it",
                m.name
            ),
            Some(c) => {
                assert!(
                    c == m.learned.primary || !s.accepts(m.learned.primary, id),
                    "{} did not fail back",
                    m.name
                );
                assert!(
                    m.never_ack || m.mg == m.learned || s.cut_off(id),
                    "{} did not learn",
                    m.name
                );
            }
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const SERVERS: [&str; 5] = ["ms1", "ms2", "gw1", "gw2", "gw3"];
    const MEMBERS: [&str; 6] = ["gw1", "gw2", "gw3", "a1", "a2", "a3"];

    #[derive(Clone, Debug)]
    enum Step {
        Set(usize, Vec<usize>),
        Advance(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (
                0..MEMBERS.len(),
                proptest::sample::subsequence((0..SERVERS.len()).collect::<Vec<_>>(), 1..=3)
                    .prop_shuffle()
            )
                .prop_map(|(m, ps)| Step::Set(m, ps)),
            (1u64..400).prop_map(Step::Advance),
        ]
    }

    fn fault() -> impl Strategy<Value = String> {
        let name = proptest::sample::select(vec!["ms1", "ms2", "gw1", "gw2", "gw3", "pool1"]);
        let member = proptest::sample::select(MEMBERS.to_vec());
        (
            0u64..3000,
            prop_oneof![
                name.clone().prop_map(|n| format!("down: {n}")),
                name.prop_map(|n| format!("up: {n}")),
                member.clone().prop_map(|n| format!("offline: {n}")),
                member.clone().prop_map(|n| format!("online: {n}")),
                member.prop_map(|n| format!("neverAck: {n}")),
                Just("ready: gw3".to_string()),
            ],
        )
            .prop_map(|(at, action)| format!("  - at: {at}s\n    {action}\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn bookkeeping_holds_and_quiescence_means_settled(
            steps in proptest::collection::vec(step(), 0..30),
            faults in proptest::collection::vec(fault(), 0..8),
            seed in 0u64..1000,
        ) {
            let text = format!("faults:\n{}", faults.concat());
            let text = if faults.is_empty() { "faults: []".to_string() } else { text };
            let mut s = sim(seed, &text);
            check_invariants(&s);
            for st in &steps {
                match st {
                    Step::Set(m, ps) => {
                        let ps: Vec<&str> = ps.iter().map(|i| SERVERS[*i]).collect();
                        let _ = s.apply_now(&set(MEMBERS[*m], ps[0], &ps[1..]));
                    }
                    Step::Advance(d) => s.advance(secs(*d)),
                }
                check_invariants(&s);
            }
            s.advance(secs(3600));
            prop_assert!(s.run_until_quiescent(secs(24 * 3600)), "never settles");
            check_invariants(&s);
            check_settled(&s);
            prop_assert_eq!(s.next_fault_at(), None);
            let reloaded = Sim::load_json(&s.save_json()).unwrap();
            prop_assert_eq!(reloaded.save_json(), s.save_json());
        }
    }
}

#[test]
fn settling_means_members_will_still_move_on_their_own() {
    // No store in this estate, so nothing but members and faults schedule.
    let text = "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\n\
                gateways:\n  - {name: gw1, primary: ms1, connected: ms1}\n\
                agents:\n  - {name: a1, primary: gw1, connected: gw1}\n";
    let observed = crate::load::observed_str(text, "estate.yaml").unwrap();
    let faults = FaultSchedule::parse(
        "faults:\n  - at: 10s\n    down: gw1\n  - at: 300s\n    up: gw1\n",
        "faults.yaml",
    )
    .unwrap();
    let mut s = Sim::try_new(&observed, SimConfig::seeded(3).with_faults(faults)).unwrap();
    // Only faults are queued: not settling, though not quiescent.
    assert!(!s.is_settling());
    assert!(!s.is_quiescent());
    s.advance(secs(11));
    s.advance(secs(120));
    // a1 has parked on gw1: nothing moves until the `up` fault.
    assert!(!s.is_settling());
    s.advance(secs(300 - 131));
    // gw1 is up again; a1 is online but not reconnected yet.
    assert_eq!(connected(&s, "a1"), None);
    assert!(s.is_settling(), "a1 will reconnect at its next retry");
    // gw1 reconnects to ms1 at its own next retry, then a1 at its own.
    assert!(
        until(&mut s, 121, |s| connected(s, "a1").as_deref()
            == Some("gw1"))
        .is_some()
    );
    s.advance(secs(1));
    assert!(!s.is_settling());
    assert!(s.is_quiescent());
}

/// The chain of issue 16: gwa on ms1, gwb on gwa, gwc on gwb, one agent
/// below each; ms2 is down.
fn chain_sim() -> Sim {
    let text = "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}, {name: ms2, up: false}]\n\
                gateways:\n  - {name: gwa, primary: ms1, connected: ms1}\n  - {name: gwb, primary: gwa, connected: gwa}\n  - {name: gwc, primary: gwb, connected: gwb}\n\
                agents:\n  - {name: a1, primary: gwa, connected: gwa}\n  - {name: a2, primary: gwb, connected: gwb}\n  - {name: a3, primary: gwc, connected: gwc}\n";
    let observed = crate::load::observed_str(text, "estate.yaml").unwrap();
    Sim::try_new(&observed, SimConfig::seeded(16)).unwrap()
}

#[test]
fn a_chain_of_gateways_is_connected_when_each_reaches_a_management_server() {
    let s = chain_sim();
    for g in ["gwa", "gwb", "gwc"] {
        assert_eq!(s.gateway_has_path(&n(g)), Some(true), "{g}");
    }
    assert_eq!(connected(&s, "a3").as_deref(), Some("gwc"));
    assert_eq!(s.gateway_has_path(&n("a3")), None);
}

#[test]
fn a_gateway_bridged_into_its_own_chain_closes_a_loop_and_a_prune_strands_the_subtree() {
    // The old planner's move: gwa bridged onto gwc, whose chain runs
    // gwc → gwb → gwa. gwc has a path when gwa connects, so it accepts;
    // then the three form a loop and everything on it is cut off.
    let mut s = chain_sim();
    s.apply_now(&set("gwa", "gwc", &["ms1"])).unwrap();
    assert!(
        until(&mut s, 600, |s| connected(s, "gwa").as_deref()
            == Some("gwc"))
        .is_some()
    );
    for g in ["gwa", "gwb", "gwc"] {
        assert_eq!(s.gateway_has_path(&n(g)), Some(false), "{g}");
    }
    // Its bridge still lists ms1, which it learned: cut off, not stranded.
    assert!(s.stranded().is_empty());
    // Observed connected to its new primary, the old planner pruned it.
    s.apply_now(&set("gwa", "gwc", &[])).unwrap();
    s.advance(secs(600));
    assert_eq!(
        s.stranded(),
        vec![n("a1"), n("a2"), n("a3"), n("gwa"), n("gwb"), n("gwc")],
        "the loop cuts the three gateways and their agents off for good"
    );
}

#[test]
fn a_gateway_without_a_path_accepts_nobody_and_its_members_are_cut_off() {
    let mut s = chain_sim();
    // gwb's only parent goes: gwb, gwc and their agents lose their path.
    s.apply_now(&set("gwb", "ms2", &[])).unwrap();
    assert_eq!(connected(&s, "gwb"), None);
    assert_eq!(s.gateway_has_path(&n("gwc")), Some(false));
    assert_eq!(
        connected(&s, "a3").as_deref(),
        Some("gwc"),
        "cut off, still connected"
    );
    // a1 is bridged onto gwc: it learns through gwa, but gwc accepts nobody.
    s.apply_now(&set("a1", "gwc", &["gwa"])).unwrap();
    s.advance(secs(600));
    assert_eq!(s.member(&n("a1")).unwrap().learned.primary, n("gwc"));
    assert_eq!(connected(&s, "a1").as_deref(), Some("gwa"));
    // gwb learned nothing (it was dropped first): stranded, and with it
    // every member whose parents only lead to it.
    assert_eq!(
        s.stranded(),
        vec![n("a2"), n("a3"), n("gwb"), n("gwc")],
        "members below a gateway that can never reach a management server are stranded"
    );
}

#[test]
fn a_loop_of_gateways_strands_all_of_them_and_their_agents() {
    // The console's way: gwa written onto gwc in one step.
    let mut s = chain_sim();
    s.apply_now(&set("gwa", "gwc", &[])).unwrap();
    s.advance(secs(600));
    assert_eq!(
        s.stranded(),
        vec![n("a1"), n("a2"), n("a3"), n("gwa"), n("gwb"), n("gwc")]
    );
}

#[test]
fn a_gateway_that_is_not_ready_connects_only_once_ready() {
    let mut s = sim(4, "faults:\n  - at: 100s\n    ready: gw3\n");
    s.advance(secs(99));
    assert_eq!(connected(&s, "gw3"), None);
    s.apply_now(&set("a3", "gw3", &["gw1"])).unwrap();
    s.advance(secs(1));
    assert!(
        until(&mut s, 130, |s| connected(s, "gw3").as_deref()
            == Some("ms1"))
        .is_some(),
        "it connects at its next retry after the ready fault"
    );
    assert!(
        until(&mut s, 300, |s| connected(s, "a3").as_deref()
            == Some("gw3"))
        .is_some()
    );
}

#[test]
fn a_member_stranded_for_a_while_is_remembered() {
    let mut s = sim(5, "faults: []");
    s.apply_now(&set("a2", "gw2", &[])).unwrap();
    assert_eq!(s.stranded(), vec![n("a2")]);
    // Listing gw1 again lets it back in: no longer stranded, but it was.
    s.apply_now(&set("a2", "gw1", &[])).unwrap();
    s.advance(secs(120));
    assert_eq!(connected(&s, "a2").as_deref(), Some("gw1"));
    assert!(s.stranded().is_empty());
    assert_eq!(s.stranded_ever(), vec![n("a2")]);
    // Saved and loaded, it is still remembered.
    let back = Sim::load_json(&s.save_json()).unwrap();
    assert_eq!(back.stranded_ever(), vec![n("a2")]);
}
