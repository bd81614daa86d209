//! `handover plan` driven as a user would: formats, `--out`, exit codes,
//! colour.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

fn plan(name: &str) -> Command {
    let d = dir(name);
    let mut c = Command::cargo_bin("handover").unwrap();
    c.arg("plan")
        .arg("--desired")
        .arg(d.join("desired.yaml"))
        .arg("--observed")
        .arg(d.join("observed.yaml"));
    c
}

#[test]
fn json_is_identical_byte_for_byte_and_out_writes_it() {
    let a = plan("replace-gateway")
        .args(["--format", "json"])
        .output()
        .unwrap();
    let b = plan("replace-gateway")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stderr.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["summary"]["retired"], 1);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan.json");
    plan("replace-gateway")
        .args(["--format", "text", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Plan: 16 members to change (14 through a bridge, 2 set directly), 1 gateway to retire, in 45 steps (31 operations, 14 waits)",
        ));
    assert_eq!(std::fs::read(&out).unwrap(), a.stdout);
    let back: handover::plan::Plan = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(back.steps.len(), 45);
}

#[test]
fn detailed_exitcode_is_two_with_changes_and_zero_without() {
    plan("add-gateway-failover")
        .arg("--detailed-exitcode")
        .assert()
        .code(2);
    plan("add-gateway-failover").assert().code(0);
    // The desired topology against itself as observed: converged.
    let tmp = tempfile::tempdir().unwrap();
    let obs = tmp.path().join("observed.yaml");
    std::fs::write(
        &obs,
        "apiVersion: handover/v1\nkind: Observed\nmanagementStore:\n  activePool: pool2.contoso.local\n  pools: [{name: pool1.contoso.local, up: true}, {name: pool2.contoso.local, up: true}]\n  replicationComplete: true\n",
    )
    .unwrap();
    Command::cargo_bin("handover")
        .unwrap()
        .args(["plan", "--detailed-exitcode", "--desired"])
        .arg(dir("management-store-failover").join("desired.yaml"))
        .arg("--observed")
        .arg(&obs)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("No changes"));
}

#[test]
fn all_blocked_is_still_a_change_and_errors_exit_one() {
    let tmp = tempfile::tempdir().unwrap();
    let obs = tmp.path().join("observed.yaml");
    std::fs::write(
        &obs,
        "apiVersion: handover/v1\nkind: Observed\nmanagementStore:\n  activePool: pool1.contoso.local\n  pools: [{name: pool1.contoso.local, up: false}, {name: pool2.contoso.local, up: true}]\n",
    )
    .unwrap();
    Command::cargo_bin("handover")
        .unwrap()
        .args(["plan", "--detailed-exitcode", "--desired"])
        .arg(dir("management-store-failover").join("desired.yaml"))
        .arg("--observed")
        .arg(&obs)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("disasterRecovery.allowed: true"));
    Command::cargo_bin("handover")
        .unwrap()
        .args([
            "plan",
            "--detailed-exitcode",
            "--desired",
            "/nonexistent.yaml",
            "--observed",
        ])
        .arg(&obs)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("nonexistent"));
}

#[test]
fn no_colour_when_not_a_terminal_or_no_color_set() {
    let out = plan("replace-gateway")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!out.stdout.contains(&0x1b));
    let out = plan("replace-gateway")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!out.stdout.contains(&0x1b), "stdout is a pipe here");
}

#[test]
fn markdown_has_a_summary_table_and_collapsible_phases() {
    plan("move-gateways-to-new-management-server")
        .args(["--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "| members to change | through a bridge | set directly | steps (operations + waits) |",
        ))
        .stdout(predicate::str::contains(
            "<details>\n<summary>Gateways (2)</summary>",
        ));
}

#[test]
fn target_flags_beside_observed_are_refused_not_ignored() {
    // clap lets --target-arg and --provider-timeout through next to
    // --observed; plan must refuse them rather than silently ignore them.
    plan("replace-gateway")
        .args(["--target-arg", "x", "--provider-timeout", "5s"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "--target-arg and --provider-timeout need --target",
        ));
}
