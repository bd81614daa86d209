//! `handover apply`, `export` and `history` driven as a user would, on a
//! `sim:FILE` target made from an example's observed.yaml.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

/// A temporary directory holding `estate.yaml` (the example's observed
/// state) and `desired.yaml`.
fn setup(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        example(name).join("observed.yaml"),
        tmp.path().join("estate.yaml"),
    )
    .unwrap();
    std::fs::copy(
        example(name).join("desired.yaml"),
        tmp.path().join("desired.yaml"),
    )
    .unwrap();
    tmp
}

fn handover(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir);
    c
}

fn apply(dir: &Path) -> Command {
    let mut c = handover(dir);
    c.args([
        "apply",
        "--desired",
        "desired.yaml",
        "--target",
        "sim:estate.yaml",
    ]);
    c
}

#[test]
fn without_a_terminal_or_auto_approve_it_refuses_and_changes_nothing() {
    let tmp = setup("replace-gateway");
    let before = std::fs::read(tmp.path().join("estate.yaml")).unwrap();
    apply(tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pass --auto-approve"));
    assert_eq!(
        std::fs::read(tmp.path().join("estate.yaml")).unwrap(),
        before
    );
    assert!(!tmp.path().join(".handover").exists());
}

#[test]
fn applies_converges_reports_and_then_has_nothing_to_do() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    apply(d)
        .args(["--auto-approve", "--report", "report.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Converged"))
        .stdout(predicate::str::contains(
            "14 bridged, 14 acknowledged, 14 pruned",
        ));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["outcome"], "converged");
    assert_eq!(report["exit_code"], 0);
    let steps = report["execution"]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["action"] == "retire_gateway" && s["outcome"] == "applied")
    );
    assert!(
        steps
            .iter()
            .all(|s| s["started"].is_number() || s["outcome"] == "skipped")
    );
    // FILE now shows the estate as it is: gw1 gone, agents on gw2.
    let file = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    assert!(!file.contains("name: gw1.dmz.contoso.local"), "{file}");
    assert!(file.contains("connected: gw2.dmz.contoso.local"), "{file}");
    apply(d)
        .args(["--auto-approve", "--report", "again.md"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes"));
    handover(d)
        .args(["history", "--target", "sim:estate.yaml", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"outcome\": \"converged\""));
}

#[test]
fn markdown_report_has_a_summary_and_one_row_per_step() {
    let tmp = setup("replace-gateway");
    apply(tmp.path())
        .args(["--auto-approve", "--report", "report.md"])
        .assert()
        .code(0);
    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(md.starts_with("# handover apply: converged"), "{md}");
    assert!(
        md.contains("| Bridged / acknowledged / pruned | 14 / 14 / 14 |"),
        "{md}"
    );
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| set_parents |"))
        .count();
    assert_eq!(rows, 28 + 2, "{md}");
}

#[test]
fn a_report_file_without_a_known_extension_is_refused_first() {
    let tmp = setup("replace-gateway");
    apply(tmp.path())
        .args(["--auto-approve", "--report", "report.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(".json or .md"));
    assert!(!tmp.path().join("estate.yaml.sim.json").exists());
}

#[test]
fn a_saved_plan_applies_and_a_stale_one_is_refused_saying_what_changed() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    handover(d)
        .args([
            "plan",
            "--desired",
            "desired.yaml",
            "--observed",
            "estate.yaml",
            "--out",
            "plan.json",
        ])
        .assert()
        .code(0);
    // Someone moves web01 by hand in the console meanwhile.
    let text = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    let edited = text.replacen(
        "  - name: web01.dmz.contoso.local\n    primary: gw1.dmz.contoso.local\n    failover: []",
        "  - name: web01.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: []",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(d.join("estate.yaml"), edited).unwrap();
    handover(d)
        .args(["apply", "plan.json", "--target", "sim:estate.yaml", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the plan is stale"))
        .stderr(predicate::str::contains("agent web01.dmz.contoso.local now has primary gw3.dmz.contoso.local; the plan was made when it listed gw1.dmz.contoso.local"));
    // A fresh plan of the changed estate applies.
    handover(d)
        .args([
            "plan",
            "--desired",
            "desired.yaml",
            "--observed",
            "estate.yaml",
            "--out",
            "plan.json",
        ])
        .assert()
        .code(0);
    handover(d)
        .args([
            "apply",
            "plan.json",
            "--target",
            "sim:estate.yaml",
            "--auto-approve",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Converged"));
}

#[test]
fn blocked_moves_finish_with_exit_3() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    let text = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    // gw2 not ready: the moves onto it are blocked.
    let edited = text.replacen(
        "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: true",
        "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: false",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(d.join("estate.yaml"), edited).unwrap();
    apply(d)
        .arg("--auto-approve")
        .assert()
        .code(3)
        .stdout(predicate::str::contains("Blocked"))
        .stdout(predicate::str::contains("is not ready"));
}

#[test]
fn export_prints_the_observed_state_and_a_topology_that_plans_empty() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    let observed = handover(d)
        .args(["export", "--target", "sim:estate.yaml"])
        .output()
        .unwrap();
    assert_eq!(observed.status.code(), Some(0));
    let o = handover::load::observed_str(&String::from_utf8_lossy(&observed.stdout), "x").unwrap();
    let original =
        handover::load::observed(&example("replace-gateway").join("observed.yaml")).unwrap();
    assert_eq!(o, original);
    let topo = handover(d)
        .args(["export", "--target", "sim:estate.yaml", "--as-topology"])
        .output()
        .unwrap();
    std::fs::write(d.join("current.yaml"), &topo.stdout).unwrap();
    handover(d)
        .args([
            "plan",
            "--desired",
            "current.yaml",
            "--observed",
            "estate.yaml",
            "--detailed-exitcode",
        ])
        .assert()
        .code(0);
    // Export reads only: no snapshot, no state directory.
    assert!(!d.join("estate.yaml.sim.json").exists());
    assert!(!d.join(".handover").exists());
}

#[test]
fn an_unknown_target_kind_says_what_is_expected() {
    // exec: targets work (tests/exec_apply.rs); other kinds are refused.
    let tmp = setup("replace-gateway");
    handover(tmp.path())
        .args(["export", "--target", "scom:ms1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exec:PROGRAM"));
}

#[test]
fn the_window_can_be_set_on_the_command_line() {
    let tmp = setup("replace-gateway");
    apply(tmp.path())
        .args([
            "--auto-approve",
            "--max-in-flight",
            "2",
            "--ack-timeout",
            "20m",
            "--report",
            "r.json",
        ])
        .assert()
        .code(0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["execution"]["max_in_flight"], 2);
}
