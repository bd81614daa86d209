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
                .find(&format!("{{ Test-Connected '{name}' "))
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
    // Waves: each Wait-All polls at most maxInFlight members, each member
    // is polled in exactly one of them, and every wave's polls come after
    // its bridges and before its prunes (checked above per member).
    let in_flight = p.policy.as_ref().unwrap().max_in_flight as usize;
    for block in s.split("Wait-All 'wave ").skip(1) {
        let body = &block[..block.find("})").unwrap()];
        let polled = body.matches("= { Test-").count();
        assert!(
            (1..=in_flight).contains(&polled),
            "{polled} > {in_flight}:\n{s}"
        );
    }
    for step in &p.steps {
        if let Action::AwaitConnected { name, .. } = &step.action {
            assert_eq!(
                s.matches(&format!("{{ Test-Connected '{name}' ")).count(),
                1,
                "{name}"
            );
        }
    }
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

/// True when a line of the script passes `-Restore` together with a
/// disaster-recovery parameter.
fn restore_with_disaster_parameters(s: &str) -> bool {
    s.lines().any(|l| {
        !l.trim_start().starts_with('#')
            && l.contains("-Restore")
            && (l.contains("-BackupSqlServerFqdn") || l.contains("-Force"))
    })
}

#[test]
fn restore_is_never_printed_with_the_disaster_recovery_parameters() {
    // A hand-made plan whose disaster-recovery failover asks for restore:
    // the script leaves -Restore out and says why.
    let d =
        handover::load::topology(&[dir("management-store-disaster-recovery").join("desired.yaml")])
            .unwrap();
    let o =
        handover::load::observed(&dir("management-store-disaster-recovery").join("observed.yaml"))
            .unwrap();
    let mut p = plan(&d, &o);
    let mut disaster = 0;
    for s in &mut p.steps {
        if let Action::StoreFailover { restore, mode, .. } = &mut s.action {
            assert_eq!(*mode, handover::plan::FailoverMode::Disaster);
            *restore = true;
            disaster += 1;
        }
    }
    assert_eq!(
        disaster, 1,
        "the example plans a disaster-recovery failover"
    );
    let s = render(&p, &Waits::default());
    assert!(s.contains("-BackupSqlServerFqdn"), "{s}");
    assert!(!restore_with_disaster_parameters(&s), "{s}");
    assert!(
        s.lines()
            .all(|l| l.trim_start().starts_with('#') || !l.contains("-Restore")),
        "{s}"
    );
    assert!(s.contains("restore is not passed"), "{s}");

    // A planned failover with restore: -Restore, and no -Force.
    let tmp = tempfile::tempdir().unwrap();
    let planned = std::fs::read_to_string(dir("management-store-failover").join("desired.yaml"))
        .unwrap()
        .replace(
            "  pool: pool2.contoso.local\n",
            "  pool: pool2.contoso.local\n  restore: true\n",
        );
    assert!(planned.contains("restore: true"));
    std::fs::write(tmp.path().join("planned.yaml"), &planned).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(["plan", "--format", "powershell", "--desired"])
        .arg(tmp.path().join("planned.yaml"))
        .arg("--observed")
        .arg(dir("management-store-failover").join("observed.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Invoke-CsManagementServerFailover -Restore -Confirm:$false\n"),
        "{text}"
    );
    assert!(!restore_with_disaster_parameters(&text), "{text}");

    // restore together with disaster recovery allowed: refused before any
    // script is printed, at the line of restore.
    let both =
        std::fs::read_to_string(dir("management-store-disaster-recovery").join("desired.yaml"))
            .unwrap()
            .replace(
                "  pool: pool2.contoso.local\n",
                "  pool: pool2.contoso.local\n  restore: true\n",
            );
    let line = both
        .lines()
        .position(|l| l == "  restore: true")
        .expect("restore inserted")
        + 1;
    std::fs::write(tmp.path().join("both.yaml"), &both).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(tmp.path())
        .args([
            "plan",
            "--format",
            "powershell",
            "--desired",
            "both.yaml",
            "--observed",
        ])
        .arg(dir("management-store-disaster-recovery").join("observed.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("both.yaml:{line}:12: managementStore.restore: true cannot be combined with disasterRecovery.allowed: true")),
        "{err}"
    );
}
