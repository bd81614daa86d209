//! Snapshot tests of `plan --format powershell` for every example
//! topology, and the script's safety properties: every await comes before
//! the prune of the same member, and nothing is written unquoted.

use assert_cmd::Command;
use handover::plan::{Action, plan};
use handover::render::powershell::{Waits, render};
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

fn script(name: &str) -> (handover::plan::Plan, String) {
    let d = handover::load::topology(&[dir(name).join("desired.yaml")]).unwrap();
    let o = handover::load::observed(&dir(name).join("observed.yaml")).unwrap();
    let p = plan(&d, &o);
    let waits = Waits {
        ack_timeout: d.policy.ack_timeout.as_duration(),
        ..Waits::default()
    };
    let s = render(&p, &waits);
    (p, s)
}

fn snapshot(name: &str) {
    let (p, s) = script(name);
    // Each member's wait comes before its prune (the second SetParents of
    // the same member), and a failing wait throws, stopping the script.
    for step in &p.steps {
        if let Action::AwaitConnected { name, .. } = &step.action {
            let wait = s
                .find(&format!("{{ Test-Connected '{name}' }}"))
                .unwrap_or_else(|| panic!("no wait for {name}:\n{s}"));
            let sets: Vec<usize> = s
                .match_indices(&format!("Parents -Name '{name}' "))
                .map(|(i, _)| i)
                .collect();
            if sets.len() == 2 {
                assert!(sets[0] < wait && wait < sets[1], "{name}:\n{s}");
            }
        }
    }
    assert!(s.contains("throw \"timed out after"), "{s}");
    insta::assert_snapshot!(format!("{name}.powershell"), s);
}

#[test]
fn replace_gateway() {
    snapshot("replace-gateway");
}

#[test]
fn add_gateway_failover() {
    snapshot("add-gateway-failover");
}

#[test]
fn move_gateways_to_new_management_server() {
    snapshot("move-gateways-to-new-management-server");
}

#[test]
fn management_store_failover() {
    snapshot("management-store-failover");
}

#[test]
fn management_store_disaster_recovery() {
    snapshot("management-store-disaster-recovery");
}

#[test]
fn the_cli_prints_the_script_with_the_policy_timeout() {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(["plan", "--format", "powershell", "--desired"])
        .arg(dir("replace-gateway").join("desired.yaml"))
        .arg("--observed")
        .arg(dir("replace-gateway").join("observed.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, script("replace-gateway").1);
    assert!(text.contains("$AckTimeoutSeconds = 1800\n"), "{text}");
    assert!(text.contains("# Observed digest (revision): "), "{text}");
}

#[test]
fn blocked_members_are_named_in_the_header_and_left_out() {
    let d = handover::load::topology(&[dir("replace-gateway").join("desired.yaml")]).unwrap();
    let mut o = handover::load::observed(&dir("replace-gateway").join("observed.yaml")).unwrap();
    o.gateways[1].ready = false; // gw2 not ready: the moves onto it are blocked
    let p = plan(&d, &o);
    assert!(!p.blocked.is_empty());
    let s = render(&p, &Waits::default());
    let header: String = s
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        header.contains("# Blocked, not in this script:"),
        "{header}"
    );
    for b in &p.blocked {
        assert!(
            header.contains(b.name.as_str()),
            "{} missing:\n{header}",
            b.name
        );
        // Nothing is written for a blocked member.
        assert!(!s.contains(&format!("-Name '{}'", b.name)), "{}", b.name);
    }
    insta::assert_snapshot!("replace-gateway-gw2-not-ready.powershell", s);
}
