//! `handover apply`, `export` and `history` driven as a user would, on a
//! `sim:FILE` target made from an example's observed.yaml.

mod common;

use assert_cmd::Command;
use common::estate::{copy_example as setup, example, handover_in as handover, handover_with};
use predicates::prelude::*;
use std::path::Path;

/// `apply` of the copied example onto its `sim:` estate.
fn apply(dir: &Path) -> Command {
    let args = [
        "apply",
        "--desired",
        "desired.yaml",
        "--target",
        "sim:estate.yaml",
    ];
    handover_with(dir, &args)
}

/// `plan` of the copied example, saved as `plan.json`.
fn save_plan(dir: &Path) -> Command {
    let args = [
        "plan",
        "--desired",
        "desired.yaml",
        "--observed",
        "estate.yaml",
    ];
    let mut c = handover_with(dir, &args);
    c.args(["--out", "plan.json"]);
    c
}

/// `apply plan.json` on the copied estate, approved.
fn apply_plan_file(dir: &Path) -> Command {
    let args = ["apply", "plan.json", "--target", "sim:estate.yaml"];
    let mut c = handover_with(dir, &args);
    c.arg("--auto-approve");
    c
}

/// A JSON file the run wrote (a report, a saved plan).
fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
            "Applied 31 of 31 operations: 14 bridges, 14 prunes, 2 set directly, 1 gateway retired; 0 skipped (already held).\nWaited for 14 of 14 waits (14 members acknowledged)",
        ));
    let report = json_file(&d.join("report.json"));
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
        md.contains("| Bridges / prunes / set directly | 14 / 14 / 2 |"),
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
    save_plan(d).assert().code(0);
    // Someone moves web01 by hand in the console meanwhile.
    let text = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    let edited = text.replacen(
        "  - name: web01.dmz.contoso.local\n    primary: gw1.dmz.contoso.local\n    failover: []",
        "  - name: web01.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: []",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(d.join("estate.yaml"), edited).unwrap();
    apply_plan_file(d)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the plan is stale"))
        .stderr(predicate::str::contains("agent web01.dmz.contoso.local now has primary gw3.dmz.contoso.local; the plan was made when it listed gw1.dmz.contoso.local"));
    // A fresh plan of the changed estate applies.
    save_plan(d).assert().code(0);
    apply_plan_file(d)
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
fn export_with_rules_lists_only_the_exceptions_and_warns_about_the_supported_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut estate = String::from(
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1.contoso.local, up: true}]\ngateways:\n  - {name: gw1.contoso.local, primary: ms1.contoso.local, connected: ms1.contoso.local}\n  - {name: gw2.contoso.local, primary: ms1.contoso.local, connected: ms1.contoso.local}\nagents:\n",
    );
    for (site, gw, n) in [("dmz", "gw1", 2100), ("branch", "gw2", 40)] {
        for i in 0..n {
            estate.push_str(&format!(
                "  - {{name: a{i}.{site}.contoso.local, primary: {gw}.contoso.local, connected: {gw}.contoso.local}}\n"
            ));
        }
    }
    estate.push_str("  - {name: odd.dmz.contoso.local, primary: gw2.contoso.local, connected: gw2.contoso.local}\n");
    std::fs::write(d.join("estate.yaml"), estate).unwrap();
    let topo = handover(d)
        .args([
            "export",
            "--target",
            "sim:estate.yaml",
            "--as-topology",
            "--rules",
        ])
        .output()
        .unwrap();
    assert_eq!(topo.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&topo.stderr);
    assert!(
        stderr.contains("warning: gateway gw1.contoso.local is the primary of 2,100 agents, over Microsoft's supported limit of 2,000"),
        "{stderr}"
    );
    let text = String::from_utf8_lossy(&topo.stdout);
    assert!(text.contains("match: \"*.dmz.contoso.local\""), "{text}");
    assert!(text.contains("gateway: 2100"), "{text}");
    // Two rules and the one exception: a file a person can read.
    assert!(text.lines().count() < 40, "{text}");
    std::fs::write(d.join("current.yaml"), text.as_bytes()).unwrap();
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
    // --rules only makes sense for a topology.
    handover(d)
        .args(["export", "--target", "sim:estate.yaml", "--rules"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--as-topology"));
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
    let report = json_file(&tmp.path().join("r.json"));
    assert_eq!(report["execution"]["max_in_flight"], 2);
}

/// A hand-made plan: web01 straight from gw1 to gw2, a bridge and then the
/// prune with no await between them (a planner bug, or a hand edit).
const UNSAFE_PLAN: &str = r#"{
  "format_version": 1,
  "summary": {"changes": 2, "moves": 1, "blocked": 0, "unmanaged": 0},
  "steps": [
    {"id": 1, "action": "set_parents", "kind": "agent", "name": "web01.dmz.contoso.local",
     "primary": "gw2.dmz.contoso.local", "failover": ["gw1.dmz.contoso.local"], "bridge": true, "after": []},
    {"id": 2, "action": "set_parents", "kind": "agent", "name": "web01.dmz.contoso.local",
     "primary": "gw2.dmz.contoso.local", "failover": [], "bridge": false, "after": [1]}
  ],
  "blocked": []
}
"#;

#[test]
fn a_plan_file_without_observed_digest_is_refused_unless_forced() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    std::fs::write(d.join("plan.json"), UNSAFE_PLAN).unwrap();
    let before = std::fs::read(d.join("estate.yaml")).unwrap();
    apply_plan_file(d)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "error: plan.json: the plan has no observed_digest",
        ))
        .stderr(predicate::str::contains("handover plan --out FILE"))
        .stderr(predicate::str::contains("pass --force"));
    // Nothing was applied, nothing was even opened.
    assert_eq!(std::fs::read(d.join("estate.yaml")).unwrap(), before);
    assert!(!d.join("estate.yaml.sim.json").exists());
    // --force belongs to a plan file only.
    apply(d)
        .args(["--auto-approve", "--force"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: --force applies to a PLANFILE without observed_digest only",
        ));
    assert_eq!(std::fs::read(d.join("estate.yaml")).unwrap(), before);
}

#[test]
fn the_executor_does_not_send_a_prune_the_member_is_not_ready_for() {
    // The unsafe plan, forced: the bridge is written, the prune is not
    // (web01 still talks to gw1, which the prune removes): it is reported
    // pending with the reason, and nobody is stranded.
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    std::fs::write(d.join("plan.json"), UNSAFE_PLAN).unwrap();
    let out = apply_plan_file(d)
        .args(["--force", "--report", "r.json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "Pending, in their bridge (run apply again later) (1): web01.dmz.contoso.local"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("Stranded"), "{stdout}");
    let report = json_file(&d.join("r.json"));
    assert_eq!(report["stranded"], serde_json::json!([]));
    let steps = report["execution"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["outcome"], "applied");
    assert_eq!(steps[1]["outcome"], "not_started");
    let reason = steps[1]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not sent: web01.dmz.contoso.local is connected to gw1.dmz.contoso.local, which this change removes, and not yet to its new primary gw2.dmz.contoso.local"),
        "{reason}"
    );
    assert_eq!(report["execution"]["steps_applied"], 1);
    // The estate keeps web01's bridge: gw1 is still listed.
    let file = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    let web01 = file
        .split("- name: ")
        .find(|s| s.starts_with("web01.dmz.contoso.local"))
        .unwrap();
    assert!(web01.contains("gw1.dmz.contoso.local"), "{web01}");
    // A real plan then finishes the job safely.
    apply(d)
        .args(["--auto-approve"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Converged"));
}

#[test]
fn a_saved_plan_keeps_the_topologys_window() {
    // The example's policy.maxInFlight is 5; a plan file records it and
    // apply PLANFILE uses it instead of the default 100.
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    save_plan(d).assert().code(0);
    let plan = json_file(&d.join("plan.json"));
    assert_eq!(
        plan["policy"],
        serde_json::json!({"max_in_flight": 5, "ack_timeout": "30m", "store_timeout": "30m"})
    );
    apply_plan_file(d)
        .args(["--report", "r.json"])
        .assert()
        .code(0);
    let report = json_file(&d.join("r.json"));
    assert_eq!(report["execution"]["max_in_flight"], 5);
}

#[test]
fn an_invalid_store_section_is_refused_before_anything_is_applied() {
    // The store example, with disaster recovery allowed but no backup SQL
    // server, restore asked for, and a storeTimeout that is no duration.
    let tmp = setup("management-store-failover");
    let d = tmp.path();
    let desired = std::fs::read_to_string(d.join("desired.yaml")).unwrap();
    let bad = desired
        .replace("    allowed: false\n", "    allowed: true\n")
        .replace("    backupSqlServer: sql2.contoso.local\n", "")
        .replace(
            "  pool: pool2.contoso.local\n",
            "  pool: pool2.contoso.local\n  restore: true\n",
        )
        + "policy:\n  storeTimeout: 30\n";
    assert_ne!(bad, desired);
    std::fs::write(d.join("desired.yaml"), &bad).unwrap();
    let before = std::fs::read(d.join("estate.yaml")).unwrap();
    let out = apply(d).arg("--auto-approve").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("desired.yaml:"), "{err}");
    assert!(err.contains("names no backupSqlServer"), "{err}");
    assert!(
        err.contains(
            "managementStore.restore: true cannot be combined with disasterRecovery.allowed: true"
        ),
        "{err}"
    );
    assert!(
        err.contains("storeTimeout \"30\" is not a duration"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.join("estate.yaml")).unwrap(), before);
    assert!(!d.join("estate.yaml.sim.json").exists());
}

/// `history` says who ran each run and from which commit: the OS user, and
/// the git commit of the desired files (`+dirty` when they had changed
/// since it), as the issue asks, not only a digest.
#[test]
fn history_records_the_os_user_and_the_git_commit_of_the_desired_files() {
    let Some(git) = common::tool(&common::GIT, "history commit") else {
        return;
    };
    // Two estates, each with its desired file committed; the second one's
    // file edited (still the same topology) before its apply.
    let history = |edit: bool, user: &str| {
        let tmp = setup("replace-gateway");
        let d = tmp.path();
        let run_git = |args: &[&str]| {
            let out = std::process::Command::new(&git)
                .current_dir(d)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        run_git(&["init", "-q"]);
        run_git(&["add", "desired.yaml"]);
        run_git(&["commit", "-q", "-m", "desired"]);
        let head = run_git(&["rev-parse", "HEAD"]);
        if edit {
            let text = std::fs::read_to_string(d.join("desired.yaml")).unwrap();
            std::fs::write(d.join("desired.yaml"), format!("{text}\n# edited\n")).unwrap();
        }
        apply(d)
            .env("USER", user)
            .arg("--auto-approve")
            .assert()
            .code(0);
        let out = handover(d)
            .args(["history", "--target", "sim:estate.yaml", "--format", "json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = handover(d)
            .args(["history", "--target", "sim:estate.yaml"])
            .output()
            .unwrap();
        (head, v, String::from_utf8(text.stdout).unwrap(), tmp)
    };
    let (head, v, _, _keep) = history(false, "alice");
    assert_eq!(v[0]["user"], "alice", "{v}");
    assert_eq!(v[0]["commit"], head, "{v}");
    let (head, v, text, _keep) = history(true, "bob");
    assert_eq!(v[0]["user"], "bob", "{v}");
    assert_eq!(v[0]["commit"], format!("{head}+dirty"), "{v}");
    assert!(text.contains("USER") && text.contains("COMMIT"), "{text}");
    assert!(text.contains(&format!("{}+dirty", &head[..12])), "{text}");
}
