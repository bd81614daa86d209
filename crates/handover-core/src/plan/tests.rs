//! Unit tests of the planner, one per rule of docs/spec.md section 3 and per case
//! the Planner issue names. Fixtures are small YAML documents (read through
//! `crate::testkit`); steps are compared in a compact one-line form.

use super::*;
use crate::load::topology_str;
use crate::testkit::{
    SERVERS, desired_gateways, gateways_up, observed, observed_servers, topology,
};

/// The plan from `desired` to `observed` (bodies without the header lines),
/// checked to be the same when planned twice.
fn run(desired: &str, observed_body: &str) -> Plan {
    let d = topology(desired);
    let o = observed(observed_body);
    let p = plan(&d, &o);
    assert_eq!(p, plan(&d, &o), "deterministic");
    p
}

/// The plan for agents moving among the gateways `gws`: desired ms1-ms3
/// and `gws` on ms1, then `desired_agents`; observed ms1-ms3 up and `gws`
/// up, ready and connected to ms1, then `observed_agents`.
fn agents_on(gws: &[&str], desired_agents: &str, observed_agents: &str) -> Plan {
    run(
        &format!("{SERVERS}{}{desired_agents}", desired_gateways(gws)),
        &format!(
            "{}{}{observed_agents}",
            observed_servers(),
            gateways_up(gws)
        ),
    )
}

fn short(s: &Step) -> String {
    let after: Vec<String> = s.after.iter().map(|a| a.to_string()).collect();
    let body = match &s.action {
        Action::SetParents {
            name,
            primary,
            failover,
            bridge,
            ..
        } => {
            let f: Vec<&str> = failover.iter().map(|n| n.as_str()).collect();
            format!(
                "{} {name} {primary} [{}]",
                if *bridge { "bridge" } else { "set" },
                f.join(" ")
            )
        }
        Action::AwaitConnected { name, server, .. } => format!("await {name} {server}"),
        Action::AwaitReady { name, .. } => format!("ready {name}"),
        Action::RetireGateway { name, .. } => format!("retire {name}"),
        Action::AwaitReplication { pool } => format!("replication {pool}"),
        Action::StoreFailover { pool, mode, .. } => format!("failover {pool} {mode:?}"),
        Action::AwaitStoreActive { pool } => format!("active {pool}"),
    };
    format!("{} {body} <{}>", s.id, after.join(","))
}

fn steps(p: &Plan) -> Vec<String> {
    p.steps.iter().map(short).collect()
}

fn codes(p: &Plan) -> Vec<String> {
    p.blocked
        .iter()
        .map(|b| format!("{} {}", b.name, b.reason.code()))
        .collect()
}

#[test]
fn converged_state_plans_empty() {
    let p = agents_on(
        &["gw1", "gw2"],
        "agents: [{name: web01, primary: gw1, failover: [gw2]}]\n",
        "agents: [{name: web01, primary: gw1, failover: [gw2], connected: gw1}]\n",
    );
    assert!(p.is_empty(), "{:?}", steps(&p));
    assert_eq!(p.summary.changes, 0);
}

#[test]
fn names_differing_only_in_case_are_no_change() {
    let p = run(
        &format!(
            "{SERVERS}{}agents: [{{name: WEB01.Dmz.local, primary: GW1, failover: [Gw2]}}]\n",
            desired_gateways(&["GW1", "gw2"])
        ),
        &format!(
            "{}{}agents: [{{name: web01.dmz.LOCAL, primary: gw1, failover: [GW2], connected: Gw1}}]\n",
            observed_servers(),
            gateways_up(&["gw1", "GW2"])
        ),
    );
    assert!(p.is_empty(), "{:?} {:?}", steps(&p), codes(&p));
}

#[test]
fn dropping_the_connected_parent_bridges_awaits_and_prunes() {
    let p = agents_on(
        &["gw1", "gw2", "gw3"],
        "agents: [{name: web01, primary: gw2, failover: [gw3]}]\n",
        "agents: [{name: web01, primary: gw1, failover: [], connected: gw1}]\n",
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge web01 gw2 [gw3 gw1] <>",
            "2 await web01 gw2 <1>",
            "3 set web01 gw2 [gw3] <2>"
        ]
    );
    assert_eq!((p.summary.moves, p.summary.bridged), (1, 1));
}

#[test]
fn a_change_that_drops_nothing_it_talks_to_is_one_step() {
    // Swap primary and failover: the connected gw1 stays listed.
    let p = agents_on(
        &["gw1", "gw2"],
        "agents: [{name: web01, primary: gw2, failover: [gw1]}]\n",
        "agents: [{name: web01, primary: gw1, failover: [gw2], connected: gw1}]\n",
    );
    assert_eq!(steps(&p), ["1 set web01 gw2 [gw1] <>"]);
    assert_eq!(p.summary.bridged, 0);
}

#[test]
fn agent_on_its_failover_because_its_primary_is_down_keeps_the_failover() {
    // gw1 is down, so web01 talks to its failover gw2. Moving to gw3 alone
    // would drop gw2: the bridge keeps gw1 and gw2 until gw3 has it.
    let mut gws = gateways_up(&["gw2", "gw3"]);
    gws.push_str("  - {name: gw1, primary: ms1, connected: null, up: false, ready: true}\n");
    let p = run(
        &format!(
            "{SERVERS}{}agents: [{{name: web01, primary: gw3}}]\n",
            desired_gateways(&["gw1", "gw2", "gw3"])
        ),
        &format!(
            "{}{gws}agents: [{{name: web01, primary: gw1, failover: [gw2], connected: gw2}}]\n",
            observed_servers()
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge web01 gw3 [gw1 gw2] <>",
            "2 await web01 gw3 <1>",
            "3 set web01 gw3 [] <2>"
        ]
    );
    // Keeping gw1 as primary while dropping gw2 needs gw1 up: blocked.
    let p = run(
        &format!(
            "{SERVERS}{}agents: [{{name: web01, primary: gw1, failover: [gw3]}}]\n",
            desired_gateways(&["gw1", "gw2", "gw3"])
        ),
        &format!(
            "{}{gws}agents: [{{name: web01, primary: gw1, failover: [gw2], connected: gw2}}]\n",
            observed_servers()
        ),
    );
    assert!(p.steps.is_empty());
    assert_eq!(codes(&p), ["web01 parent_down"]);
}

#[test]
fn offline_agent_bridge_keeps_all_its_old_parents() {
    let p = agents_on(
        &["gw1", "gw2", "gw3"],
        "agents: [{name: web01, primary: gw3}]\n",
        "agents: [{name: web01, primary: gw1, failover: [gw2], connected: null}]\n",
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge web01 gw3 [gw1 gw2] <>",
            "2 await web01 gw3 <1>",
            "3 set web01 gw3 [] <2>"
        ]
    );
    // Offline and only adding a parent: nothing is dropped, one step.
    let p = agents_on(
        &["gw1", "gw2", "gw3"],
        "agents: [{name: web01, primary: gw1, failover: [gw2, gw3]}]\n",
        "agents: [{name: web01, primary: gw1, failover: [gw2], connected: null}]\n",
    );
    assert_eq!(steps(&p), ["1 set web01 gw1 [gw2 gw3] <>"]);
}

#[test]
fn two_gateways_swapping_their_agents_move_independently() {
    let p = agents_on(
        &["gw1", "gw2"],
        "agents:\n  - {name: a1, primary: gw2}\n  - {name: a2, primary: gw1}\n",
        "agents:\n  - {name: a1, primary: gw1, connected: gw1}\n  - {name: a2, primary: gw2, connected: gw2}\n",
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge a1 gw2 [gw1] <>",
            "2 await a1 gw2 <1>",
            "3 set a1 gw2 [] <2>",
            "4 bridge a2 gw1 [gw2] <>",
            "5 await a2 gw1 <4>",
            "6 set a2 gw1 [] <5>"
        ]
    );
}

#[test]
fn gateway_moving_to_a_new_management_server_finishes_before_agents_move_onto_it() {
    let p = run(
        &format!(
            "{SERVERS}gateways:\n  - {{name: gw1, primary: ms1}}\n  - {{name: gw2, primary: ms3, failover: [ms2]}}\nagents:\n  - {{name: a1, primary: gw2}}\n  - {{name: a2, primary: gw1, failover: [gw2]}}\n  - {{name: a3, primary: gw1}}\n",
        ),
        &format!(
            "{}{}agents:\n  - {{name: a1, primary: gw1, connected: gw1}}\n  - {{name: a2, primary: gw1, connected: gw1}}\n  - {{name: a3, primary: gw2, failover: [gw1], connected: gw1}}\n",
            observed_servers(),
            gateways_up(&["gw1", "gw2"])
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge gw2 ms3 [ms2 ms1] <>",
            "2 await gw2 ms3 <1>",
            "3 set gw2 ms3 [ms2] <2>",
            "4 bridge a1 gw2 [gw1] <3>",
            "5 await a1 gw2 <4>",
            "6 set a1 gw2 [] <5>",
            // Adding gw2 as a failover is a move onto gw2 as well.
            "7 set a2 gw1 [gw2] <3>",
            // Dropping gw2 moves nothing onto it: no wait.
            "8 set a3 gw1 [] <>"
        ]
    );
}

#[test]
fn gateway_chain_parents_first() {
    let p = run(
        &format!(
            "{SERVERS}gateways:\n  - {{name: gwa, primary: gwb}}\n  - {{name: gwb, primary: ms2}}\n",
        ),
        &format!(
            "{}gateways:\n  - {{name: gwa, primary: ms1, connected: ms1}}\n  - {{name: gwb, primary: ms1, connected: ms1}}\n",
            observed_servers(),
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge gwb ms2 [ms1] <>",
            "2 await gwb ms2 <1>",
            "3 set gwb ms2 [] <2>",
            "4 bridge gwa gwb [ms1] <3>",
            "5 await gwa gwb <4>",
            "6 set gwa gwb [] <5>"
        ]
    );
}

#[test]
fn a_member_found_in_a_bridge_continues_with_await_and_prune() {
    let d = format!(
        "{SERVERS}{}agents:\n  - {{name: a1, primary: gw2, failover: [gw3]}}\n  - {{name: a2, primary: gw2, failover: [gw3]}}\n",
        desired_gateways(&["gw1", "gw2", "gw3"])
    );
    let p = run(
        &d,
        &format!(
            "{}{}agents:\n  - {{name: a1, primary: gw2, failover: [gw3, gw1], connected: gw1}}\n  - {{name: a2, primary: gw2, failover: [gw3, gw1], connected: gw2}}\n",
            observed_servers(),
            gateways_up(&["gw1", "gw2", "gw3"])
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 await a1 gw2 <>",
            "2 set a1 gw2 [gw3] <1>",
            "3 set a2 gw2 [gw3] <>"
        ]
    );
    assert_eq!(p.summary.bridged, 1);
}

#[test]
fn blocked_gateway_blocks_only_the_moves_onto_it() {
    let mut gws = gateways_up(&["gw1", "gw3"]);
    gws.push_str("  - {name: gw2, primary: ms1, connected: ms1, up: true, ready: false}\n");
    let p = run(
        &format!(
            "{SERVERS}{}agents:\n  - {{name: a1, primary: gw2}}\n  - {{name: a2, primary: gw3}}\n",
            desired_gateways(&["gw1", "gw2", "gw3"])
        ),
        &format!(
            "{}{gws}agents:\n  - {{name: a1, primary: gw1, connected: gw1}}\n  - {{name: a2, primary: gw1, connected: gw1}}\n",
            observed_servers()
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge a2 gw3 [gw1] <>",
            "2 await a2 gw3 <1>",
            "3 set a2 gw3 [] <2>"
        ]
    );
    assert_eq!(codes(&p), ["a1 parent_not_ready"]);
    assert_eq!(
        p.blocked[0].reason.to_string(),
        "its new parent gateway gw2 is not ready (approval, certificate or initial configuration missing); finish its set-up, then plan again"
    );
}

#[test]
fn absent_down_and_disconnected_parents_block_with_their_reason() {
    let mut gws = gateways_up(&["gw1"]);
    gws.push_str("  - {name: gw2, primary: ms1, connected: ms1, up: false}\n");
    gws.push_str("  - {name: gw3, primary: ms1, connected: null}\n");
    let p = run(
        &format!(
            "{SERVERS}{}agents:\n  - {{name: a1, primary: gw2}}\n  - {{name: a2, primary: gw3}}\n  - {{name: a3, primary: gw4}}\n  - {{name: a4, primary: gw1}}\n",
            desired_gateways(&["gw1", "gw2", "gw3", "gw4"])
        ),
        &format!(
            "{}{gws}agents:\n  - {{name: a1, primary: gw1, connected: gw1}}\n  - {{name: a2, primary: gw1, connected: gw1}}\n  - {{name: a3, primary: gw1, connected: gw1}}\n",
            observed_servers()
        ),
    );
    assert!(p.steps.is_empty(), "{:?}", steps(&p));
    assert_eq!(
        codes(&p),
        [
            "gw4 not_observed",
            "a1 parent_down",
            "a2 parent_not_connected",
            "a3 parent_absent",
            "a4 not_observed"
        ]
    );
}

#[test]
fn a_disconnected_gateway_whose_own_move_connects_it_is_waited_for() {
    let p = run(
        &format!(
            "{SERVERS}gateways:\n  - {{name: gw1, primary: ms1}}\n  - {{name: gw2, primary: ms2}}\nagents: [{{name: a1, primary: gw2}}]\n"
        ),
        &format!(
            "{}gateways:\n  - {{name: gw1, primary: ms1, connected: ms1}}\n  - {{name: gw2, primary: ms1, connected: null}}\nagents: [{{name: a1, primary: gw1, connected: gw1}}]\n",
            observed_servers()
        ),
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge gw2 ms2 [ms1] <>",
            "2 await gw2 ms2 <1>",
            "3 set gw2 ms2 [] <2>",
            "4 bridge a1 gw2 [gw1] <3>",
            "5 await a1 gw2 <4>",
            "6 set a1 gw2 [] <5>"
        ]
    );
}

#[test]
fn retiring_a_gateway_waits_for_every_member_that_used_it() {
    let d = format!(
        "{SERVERS}{}agents:\n  - {{name: a1, primary: gw2}}\n  - {{name: a2, primary: gw2}}\npolicy: {{retireGateways: true}}\n",
        desired_gateways(&["gw2"])
    );
    let o = format!(
        "{}{}agents:\n  - {{name: a1, primary: gw1, connected: gw1}}\n  - {{name: a2, primary: gw2, failover: [gw1], connected: gw2}}\n",
        observed_servers(),
        gateways_up(&["gw1", "gw2"])
    );
    let p = run(&d, &o);
    assert_eq!(
        steps(&p),
        [
            "1 bridge a1 gw2 [gw1] <>",
            "2 await a1 gw2 <1>",
            "3 set a1 gw2 [] <2>",
            "4 set a2 gw2 [] <>",
            "5 retire gw1 <3,4>"
        ]
    );
    assert_eq!(p.summary.retired, 1);
    // Without retireGateways, gw1 is left alone and counted.
    let p = run(
        &d.replace("retireGateways: true", "retireGateways: false"),
        &o,
    );
    assert_eq!(p.steps.len(), 4);
    assert_eq!(p.summary.unmanaged_gateways, 1);
    // An unmanaged agent still on gw1 keeps it in use.
    let o2 = format!("{o}  - {{name: z9, primary: gw1, connected: gw1}}\n");
    let p = run(&d, &o2);
    assert_eq!(p.steps.len(), 4);
    assert_eq!(codes(&p), ["gw1 gateway_in_use"]);
    assert_eq!(p.summary.unmanaged, 1);
}

#[test]
fn unmanaged_agents_are_untouched_and_counted() {
    let p = agents_on(
        &["gw1", "gw2"],
        "agentRules: [{match: \"*.dmz\", primary: gw2}]\n",
        "agents:\n  - {name: web.dmz, primary: gw1, failover: [gw2], connected: gw1}\n  - {name: db.lab, primary: gw1, connected: gw1}\n",
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge web.dmz gw2 [gw1] <>",
            "2 await web.dmz gw2 <1>",
            "3 set web.dmz gw2 [] <2>"
        ]
    );
    assert_eq!(p.summary.unmanaged, 1);
}

fn store(dr: &str, active: &str, pool1_up: bool) -> Plan {
    run(
        &format!("managementStore: {{pool: pool2, disasterRecovery: {dr}}}\n"),
        &format!(
            "managementStore: {{activePool: {active}, pools: [{{name: pool1, up: {pool1_up}}}, {{name: pool2, up: true}}], replicationComplete: false}}\n"
        ),
    )
}

#[test]
fn store_planned_failover_waits_for_replication() {
    let p = store("{allowed: false}", "pool1", true);
    assert_eq!(
        steps(&p),
        [
            "1 replication pool2 <>",
            "2 failover pool2 Planned <1>",
            "3 active pool2 <2>"
        ]
    );
    assert!(store("{allowed: false}", "pool2", true).is_empty());
}

#[test]
fn store_disaster_recovery_only_when_allowed_with_a_backup() {
    let p = store(
        "{allowed: true, backupSqlServer: sql2, backupSqlInstance: RTC}",
        "pool1",
        false,
    );
    assert_eq!(
        steps(&p),
        ["1 failover pool2 Disaster <>", "2 active pool2 <1>"]
    );
    let j = serde_json::to_string(&p.steps[0]).unwrap();
    assert!(
        j.contains(r#""backupSqlServer":"sql2","backupSqlInstance":"RTC""#),
        "{j}"
    );
    let p = store("{allowed: false, backupSqlServer: sql2}", "pool1", false);
    assert_eq!(codes(&p), ["pool2 disaster_recovery_not_allowed"]);
    assert!(
        p.blocked[0]
            .reason
            .to_string()
            .contains("disasterRecovery.allowed: true")
    );
    // Allowed without a backup SQL server is refused when the topology is
    // loaded (plan/store.rs checks the planner still blocks it).
    assert!(
        topology_str(
            "apiVersion: handover/v1\nkind: Topology\nmanagementStore: {pool: pool2, disasterRecovery: {allowed: true}}\n",
            "d.yaml",
        )
        .is_err()
    );
}

#[test]
fn store_replication_not_complete_means_the_plan_waits_for_it() {
    // The failover starts only after await_replication is met; the plan is
    // the same whether replication is complete yet or not (the executor
    // waits), and once it is complete nothing about the plan changes.
    let waiting = store("{allowed: false}", "pool1", true);
    assert_eq!(
        waiting.steps[0].action,
        Action::AwaitReplication {
            pool: crate::name::Name::parse("pool2").unwrap()
        }
    );
    assert_eq!(waiting.steps[1].after, [waiting.steps[0].id]);
}

#[test]
fn store_active_in_two_pools_is_blocked_never_planned() {
    for desired in ["pool1", "pool2"] {
        let p = run(
            &format!(
                "managementStore: {{pool: {desired}, disasterRecovery: {{allowed: true, backupSqlServer: sql2}}}}\n"
            ),
            "managementStore: {activePool: pool2, pools: [{name: pool1, active: true}, {name: pool2}], replicationComplete: true}\n",
        );
        assert!(p.steps.is_empty(), "{desired}: {:?}", steps(&p));
        assert_eq!(
            codes(&p),
            [format!("{desired} store_active_in_several_pools")]
        );
        let why = p.blocked[0].reason.to_string();
        assert!(
            why.contains("active in 2 pools at once (pool2, pool1)"),
            "{why}"
        );
        assert!(why.contains("2015 RTM"), "{why}");
    }
}

#[test]
fn a_pool_marked_active_counts_as_active_when_active_pool_is_null() {
    let p = run(
        "managementStore: {pool: pool2}\n",
        "managementStore: {activePool: null, pools: [{name: pool1}, {name: pool2, active: true}], replicationComplete: true}\n",
    );
    assert!(p.is_empty(), "{:?} {:?}", steps(&p), codes(&p));
    let p = run(
        "managementStore: {pool: pool1}\n",
        "managementStore: {activePool: null, pools: [{name: pool1}, {name: pool2, active: true}], replicationComplete: true}\n",
    );
    assert_eq!(steps(&p)[1], "2 failover pool1 Planned <1>");
}

#[test]
fn store_restore_rides_on_the_failover_and_only_then() {
    let p = run(
        "managementStore: {pool: pool2, restore: true}\n",
        "managementStore: {activePool: pool1, pools: [{name: pool1}, {name: pool2}], replicationComplete: true}\n",
    );
    let Action::StoreFailover { restore, mode, .. } = &p.steps[1].action else {
        panic!("{:?}", steps(&p));
    };
    assert!(*restore);
    assert_eq!(*mode, FailoverMode::Planned);
    let j = serde_json::to_string(&p.steps[1]).unwrap();
    assert!(j.contains(r#""restore":true"#), "{j}");
    // Level-triggered: once the store is active in pool2, nothing is left.
    let done = run(
        "managementStore: {pool: pool2, restore: true}\n",
        "managementStore: {activePool: pool2, pools: [{name: pool1}, {name: pool2}], replicationComplete: true}\n",
    );
    assert!(done.is_empty());
    // Without restore the field is absent from JSON (plans stay byte-equal).
    let plain = store("{allowed: false}", "pool1", true);
    let j = serde_json::to_string(&plain.steps[1]).unwrap();
    assert!(!j.contains("restore"), "{j}");
}

#[test]
fn a_store_change_and_agent_moves_are_independent() {
    let p = agents_on(
        &["gw1", "gw2"],
        "agents: [{name: web01, primary: gw2}]\nmanagementStore: {pool: pool2}\n",
        "agents: [{name: web01, primary: gw1, connected: gw1}]\nmanagementStore: {activePool: pool1, pools: [{name: pool1}, {name: pool2}], replicationComplete: false}\n",
    );
    assert_eq!(
        steps(&p),
        [
            "1 bridge web01 gw2 [gw1] <>",
            "2 await web01 gw2 <1>",
            "3 set web01 gw2 [] <2>",
            "4 replication pool2 <>",
            "5 failover pool2 Planned <4>",
            "6 active pool2 <5>"
        ]
    );
}

#[test]
fn plan_json_has_the_documented_shape_and_a_digest() {
    let p = agents_on(
        &["gw1", "gw2"],
        "agents: [{name: web01, primary: gw2}]\n",
        "agents: [{name: web01, primary: gw1, connected: gw1}]\n",
    );
    let v: serde_json::Value = serde_json::to_value(&p).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["steps"][0]["action"], "set_parents");
    assert_eq!(v["steps"][0]["bridge"], true);
    assert_eq!(v["steps"][1]["action"], "await_connected");
    assert_eq!(v["steps"][1]["after"], serde_json::json!([1]));
    let digest = v["observed_digest"].as_str().unwrap();
    assert!(digest.starts_with("fnv1a64:"), "{digest}");
    let back: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(back, p);
}

#[test]
fn digest_changes_when_a_planned_member_or_its_parent_changes() {
    let d = format!(
        "{SERVERS}{}agents: [{{name: web01, primary: gw2}}, {{name: web02, primary: gw1}}]\n",
        desired_gateways(&["gw1", "gw2"])
    );
    let o = format!(
        "{}{}agents: [{{name: web01, primary: gw1, connected: gw1}}, {{name: web02, primary: gw1, connected: gw1}}]\n",
        observed_servers(),
        gateways_up(&["gw1", "gw2"])
    );
    let base = run(&d, &o).observed_digest;
    let unrelated = o.replace(
        "{name: web02, primary: gw1, connected: gw1}",
        "{name: web02, primary: gw1, connected: null}",
    );
    assert_eq!(run(&d, &unrelated).observed_digest, base);
    let member = o.replace(
        "{name: web01, primary: gw1, connected: gw1}",
        "{name: web01, primary: gw1, connected: null}",
    );
    let plan0 = run(&d, &o);
    let o_member = observed(&member);
    assert_ne!(Some(digest(&o_member, &plan0)), base);
    let parent = o.replace(
        "{name: gw2, primary: ms1, failover: [], connected: ms1, up: true, ready: true}",
        "{name: gw2, primary: ms1, failover: [], connected: ms1, up: false, ready: true}",
    );
    let o_parent = observed(&parent);
    assert_ne!(Some(digest(&o_parent, &plan0)), base);
}

#[test]
fn a_gateway_chained_on_a_retiring_gateway_is_retired_first() {
    let p = run(
        &format!("{SERVERS}policy: {{retireGateways: true}}\n"),
        &format!(
            "{}gateways:\n  - {{name: gw1, primary: ms1, connected: ms1}}\n  - {{name: gw2, primary: gw1, connected: gw1}}\n",
            observed_servers()
        ),
    );
    assert_eq!(steps(&p), ["1 retire gw2 <>", "2 retire gw1 <1>"]);
}

/// The issue's gateway chain: gwa → ms1, gwb → gwa, gwc → gwb observed;
/// gwa → gwc and gwc → ms2 desired (gwb stays on gwa), each gateway with an
/// agent below it.
fn chain_estate(ms2_up: bool) -> Plan {
    run(
        "managementServers: [{name: ms1}, {name: ms2}]\ngateways:\n  - {name: gwa, primary: gwc}\n  - {name: gwb, primary: gwa}\n  - {name: gwc, primary: ms2}\nagents:\n  - {name: a1, primary: gwa}\n  - {name: a2, primary: gwb}\n  - {name: a3, primary: gwc}\n",
        &format!(
            "managementServers: [{{name: ms1, up: true}}, {{name: ms2, up: {ms2_up}}}]\ngateways:\n  - {{name: gwa, primary: ms1, connected: ms1}}\n  - {{name: gwb, primary: gwa, connected: gwa}}\n  - {{name: gwc, primary: gwb, connected: gwb}}\nagents:\n  - {{name: a1, primary: gwa, connected: gwa}}\n  - {{name: a2, primary: gwb, connected: gwb}}\n  - {{name: a3, primary: gwc, connected: gwc}}\n"
        ),
    )
}

#[test]
fn a_gateway_is_not_moved_onto_a_chain_that_leads_back_to_it() {
    let p = chain_estate(false);
    assert!(p.steps.is_empty(), "{:?}", steps(&p));
    assert_eq!(codes(&p), ["gwa parent_chain_loop", "gwc parent_down"]);
    let b = &p.blocked[0];
    assert_eq!(
        b.reason,
        BlockReason::ParentChainLoop {
            parent: crate::name::Name::parse("gwc").unwrap(),
            chain: ["gwc", "gwb", "gwa"]
                .iter()
                .map(|n| crate::name::Name::parse(n).unwrap())
                .collect(),
        }
    );
    assert!(
        b.reason
            .to_string()
            .contains("gwc → gwb → gwa, back to gwa"),
        "{}",
        b.reason
    );
}

#[test]
fn a_chain_fixed_by_an_earlier_gateway_move_is_waited_for() {
    let p = chain_estate(true);
    assert!(p.blocked.is_empty(), "{:?}", codes(&p));
    assert_eq!(
        steps(&p),
        [
            "1 bridge gwc ms2 [gwb] <>",
            "2 await gwc ms2 <1>",
            "3 set gwc ms2 [] <2>",
            "4 bridge gwa gwc [ms1] <3>",
            "5 await gwa gwc <4>",
            "6 set gwa gwc [] <5>"
        ]
    );
}

#[test]
fn a_move_waits_for_a_gateway_higher_up_the_chain_that_changes_its_primary() {
    // gwa moves onto gwc, which stays on gwb; gwb leaves gwa for ms2. Until
    // gwb has moved, gwc's chain runs gwc → gwb → gwa: gwa must wait.
    let p = run(
        "managementServers: [{name: ms1}, {name: ms2}]\ngateways:\n  - {name: gwa, primary: gwc}\n  - {name: gwb, primary: ms2}\n  - {name: gwc, primary: gwb}\nagents: [{name: a1, primary: gwc}]\n",
        "managementServers: [{name: ms1, up: true}, {name: ms2, up: true}]\ngateways:\n  - {name: gwa, primary: ms1, connected: ms1}\n  - {name: gwb, primary: gwa, connected: gwa}\n  - {name: gwc, primary: gwb, connected: gwb}\nagents: [{name: a1, primary: gwa, connected: gwa}]\n",
    );
    assert!(p.blocked.is_empty(), "{:?}", codes(&p));
    assert_eq!(
        steps(&p),
        [
            "1 bridge gwb ms2 [gwa] <>",
            "2 await gwb ms2 <1>",
            "3 set gwb ms2 [] <2>",
            "4 bridge gwa gwc [ms1] <3>",
            "5 await gwa gwc <4>",
            "6 set gwa gwc [] <5>",
            "7 bridge a1 gwc [gwa] <3>",
            "8 await a1 gwc <7>",
            "9 set a1 gwc [] <8>"
        ]
    );
}

#[test]
fn a_chain_that_ends_nowhere_blocks_the_moves_onto_it() {
    // gw2's primary gwx is neither a management server nor an observed
    // gateway (the loader refuses that, a provider's answer might not):
    // its chain leads nowhere, and its own move (to ms2, down) is blocked.
    let d = topology(
        "managementServers: [{name: ms1}, {name: ms2}]\ngateways:\n  - {name: gw1, primary: ms1}\n  - {name: gw2, primary: ms2}\nagents: [{name: a1, primary: gw2}]\n",
    );
    let mut o = observed(
        "managementServers: [{name: ms1, up: true}, {name: ms2, up: false}]\ngateways:\n  - {name: gw1, primary: ms1, connected: ms1}\n  - {name: gw2, primary: ms1, connected: ms1}\nagents: [{name: a1, primary: gw1, connected: gw1}]\n",
    );
    o.gateways[1].parents.primary = crate::name::Name::parse("gwx").unwrap();
    let p = plan(&d, &o);
    assert!(p.steps.is_empty(), "{:?}", steps(&p));
    assert_eq!(codes(&p), ["gw2 parent_down", "a1 parent_chain_broken"]);
    assert!(
        p.blocked[1]
            .reason
            .to_string()
            .contains("gw2 and ends at gwx"),
        "{}",
        p.blocked[1].reason
    );
}

#[test]
fn a_gateway_whose_own_move_is_refused_keeps_its_observed_primary_for_the_moves_onto_it() {
    // gwx's move to ms2 (down) is blocked, so gwx stays on gwb, and gwb's
    // move onto gwx is refused (gwx → gwb comes back to it). gwd moving
    // onto gwb was judged, in the same round, as if gwb had moved:
    // gwb → gwx → gwb, a loop. gwb stays on ms1, so gwd may move (the
    // CI failure of session 3: "gw4 blocked on the chain of gw3, which
    // reaches a management server").
    let p = run(
        "managementServers: [{name: ms1}, {name: ms2}]\ngateways:\n  - {name: gwb, primary: gwx}\n  - {name: gwd, primary: gwb}\n  - {name: gwx, primary: ms2}\n",
        "managementServers: [{name: ms1, up: true}, {name: ms2, up: false}]\ngateways:\n  - {name: gwb, primary: ms1, connected: ms1}\n  - {name: gwd, primary: ms1, connected: ms1}\n  - {name: gwx, primary: gwb, connected: gwb}\n",
    );
    assert_eq!(codes(&p), ["gwb parent_chain_loop", "gwx parent_down"]);
    assert_eq!(
        steps(&p),
        [
            "1 bridge gwd gwb [ms1] <>",
            "2 await gwd gwb <1>",
            "3 set gwd gwb [] <2>"
        ]
    );
}
