//! `handover reconcile` driven as an operator would: the real binary on a
//! `sim:FILE` target, desired topologies from a git repository in a temp
//! dir or from a watched directory, `/status` and `/metrics` scraped over
//! 127.0.0.1, SIGTERM in the middle of a wave. Every wait is a poll with a
//! deadline.

mod common;

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt;
use common::http::{get, status};
use common::process::{Killed, free_addr, until};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// A file of the example `name`.
fn example(name: &str, file: &str) -> PathBuf {
    common::estate::example(name).join(file)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit(repo: &Path, text: &str) -> String {
    std::fs::write(repo.join("desired.yaml"), text).unwrap();
    git(repo, &["add", "--all"]);
    git(repo, &["commit", "--quiet", "-m", "topology"]);
    git(repo, &["rev-parse", "HEAD"])
}

/// `handover reconcile` in `dir` with `args`, its stderr piped; killed
/// if the test fails first.
fn start(dir: &Path, args: &[&str]) -> Killed {
    let child = std::process::Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .arg("reconcile")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Killed(child)
}

fn reconcile(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir).arg("reconcile");
    c
}

fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".handover/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn runs_started(dir: &Path) -> Vec<serde_json::Value> {
    journal(dir)
        .into_iter()
        .filter(|r| r["event"] == "run_started")
        .collect()
}

#[test]
fn git_once_converges_follows_new_commits_and_refuses_an_invalid_one() {
    if common::tool(
        &common::GIT,
        "git_once_converges_follows_new_commits_and_refuses_an_invalid_one",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repo = d.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "--quiet"]);
    let desired = std::fs::read_to_string(example("replace-gateway", "desired.yaml")).unwrap();
    let c1 = commit(&repo, &desired);
    std::fs::copy(
        example("replace-gateway", "observed.yaml"),
        d.join("estate.yaml"),
    )
    .unwrap();
    let once = |d: &Path| {
        let mut c = reconcile(d);
        c.args(["--once", "--git", "repo", "--target", "sim:estate.yaml"]);
        c
    };
    once(d).assert().code(0);
    let runs = runs_started(d);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["command"], "reconcile");
    assert_eq!(runs[0]["revision"], c1.as_str());

    // A different failover: sql02 keeps gw3 and no longer fails over to gw2.
    let moved = desired.replacen(
        "  - name: sql02.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: [gw2.dmz.contoso.local]",
        "  - name: sql02.dmz.contoso.local\n    primary: gw3.dmz.contoso.local",
        1,
    );
    assert_ne!(moved, desired);
    let c2 = commit(&repo, &moved);
    once(d).assert().code(0);
    let runs = runs_started(d);
    assert_eq!(runs.last().unwrap()["revision"], c2.as_str());
    let estate = std::fs::read_to_string(d.join("estate.yaml")).unwrap();
    assert!(
        estate.contains(
            "- name: sql02.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: []\n"
        ),
        "{estate}"
    );
    let history = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .args(["history", "--target", "sim:estate.yaml"])
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(history.contains(&c2[..12]), "{history}");

    // An invalid commit: a fresh --once has no good revision to fall back on.
    let bad = moved.replacen(
        "primary: gw3.dmz.contoso.local",
        "primary: gw9.dmz.contoso.local",
        1,
    );
    let c3 = commit(&repo, &bad);
    let out = once(d).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("gw9.dmz.contoso.local is not defined"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:desired.yaml:21:14: agent sql01", &c3[..12])),
        "{err}"
    );
    assert_eq!(runs_started(d).len(), 2, "nothing applied");

    // Forever mode: start on the good commit, then an invalid one arrives:
    // Degraded with its errors, the last good revision kept.
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    let good = git(&repo, &["rev-parse", "HEAD"]);
    let addr = free_addr();
    let run = start(
        d,
        &[
            "--git",
            "repo",
            "--target",
            "sim:estate.yaml",
            "--interval",
            "1s",
            "--listen",
            &addr.to_string(),
        ],
    );
    until(8, "the good revision in /status", || {
        status(addr)
            .filter(|s| s["revision"]["id"] == good.as_str() && s["passes"].as_u64() > Some(0))
    });
    let c5 = commit(&repo, &bad);
    let s = until(8, "the refusal in /status", || {
        status(addr).filter(|s| s["refused"]["revision"] == c5.as_str())
    });
    assert_eq!(s["sync"], "Degraded", "{s}");
    assert_eq!(s["revision"]["id"], good.as_str(), "last good kept: {s}");
    let errors = s["refused"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("gw9.dmz.contoso.local")),
        "{s}"
    );
    run.sigterm();
    let (code, err) = run.wait(8);
    assert_eq!(code, 0, "{err}");
}

/// A directory with `desired/desired.yaml` and `estate.yaml` from an example.
fn setup(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("desired")).unwrap();
    std::fs::copy(
        example(name, "desired.yaml"),
        tmp.path().join("desired/desired.yaml"),
    )
    .unwrap();
    std::fs::copy(
        example(name, "observed.yaml"),
        tmp.path().join("estate.yaml"),
    )
    .unwrap();
    tmp
}

#[test]
fn an_edit_of_the_watched_desired_files_triggers_a_pass_and_metrics_follow() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    let addr = free_addr();
    // A one-hour interval: only the file watch can start the second pass.
    let run = start(
        d,
        &[
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
            "--interval",
            "1h",
            "--listen",
            &addr.to_string(),
        ],
    );
    let first = until(8, "the first pass", || {
        status(addr).filter(|s| s["passes"] == 1)
    });
    // It applied the replacement and the estate converged: Synced at
    // once, not at the next interval (an hour away).
    assert_eq!(first["sync"], "Synced", "{first}");
    assert!(
        first["last_pass"]["applied"].as_u64().unwrap() > 0,
        "{first}"
    );
    assert_eq!(first["members"]["stranded"], 0, "{first}");
    let rev1 = first["revision"]["id"].as_str().unwrap().to_string();
    assert!(rev1.starts_with("digest:"), "{first}");

    // A second apply or reconcile on the same target refuses at once.
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .args([
            "apply",
            "--auto-approve",
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is locked by reconcile (pid"), "{err}");
    let out = reconcile(d)
        .args([
            "--once",
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is locked by reconcile (pid"), "{err}");

    let path = d.join("desired/desired.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "  - name: sql02.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: [gw2.dmz.contoso.local]",
            "  - name: sql02.dmz.contoso.local\n    primary: gw2.dmz.contoso.local\n    failover: [gw3.dmz.contoso.local]",
            1,
        ),
    )
    .unwrap();
    // The watch debounces 200 ms (2 s at most): a pass within a second or
    // two, not at the interval.
    let s = until(4, "a pass for the edit", || {
        status(addr).filter(|s| s["revision"]["id"] != rev1.as_str() && s["passes"] == 2)
    });
    assert_eq!(s["last_pass"]["trigger"], "file_changed", "{s}");
    assert!(s["last_pass"]["applied"].as_u64().unwrap() > 0, "{s}");

    let (code, body) = get(addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, label: (&str, &str)| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(
        value("handover_reconcile_passes_total", ("trigger", "startup")),
        1.0
    );
    assert_eq!(
        value(
            "handover_reconcile_passes_total",
            ("trigger", "file_changed")
        ),
        1.0
    );
    assert!(value("handover_reconcile_steps_total", ("action", "set_parents")) > 0.0);
    assert_eq!(
        value("handover_reconcile_sync_status", ("status", "Synced")),
        1.0
    );
    let rev2 = s["revision"]["id"].as_str().unwrap();
    assert_eq!(
        value("handover_reconcile_revision_info", ("revision", rev2)),
        1.0
    );
    assert_eq!(
        value("handover_reconcile_members", ("state", "stranded")),
        0.0
    );
    run.sigterm();
    let (code, err) = run.wait(8);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("reconcile_pass"), "{err}");
}

#[test]
fn a_hand_edit_of_a_members_parents_is_repaired_by_the_next_pass() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    let once = || {
        let mut c = reconcile(d);
        c.args([
            "--once",
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
        ]);
        c
    };
    once().assert().code(0);
    let estate = d.join("estate.yaml");
    let good = std::fs::read_to_string(&estate).unwrap();
    let block = "  - name: web01.dmz.contoso.local\n    primary: gw2.dmz.contoso.local\n    failover: [gw3.dmz.contoso.local]";
    assert!(good.contains(block), "{good}");
    let drifted = good.replacen(
        block,
        "  - name: web01.dmz.contoso.local\n    primary: gw3.dmz.contoso.local\n    failover: [gw2.dmz.contoso.local]",
        1,
    );
    std::fs::write(&estate, &drifted).unwrap();
    let out = once().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("drift"), "{err}");
    let repaired = std::fs::read_to_string(&estate).unwrap();
    assert!(repaired.contains(block), "{repaired}");
    let steps: Vec<_> = journal(d)
        .into_iter()
        .filter(|r| r["event"] == "step" && r["name"] == "web01.dmz.contoso.local")
        .collect();
    assert!(!steps.is_empty());
    // And then nothing is left to do.
    once().assert().code(0);
    assert_eq!(runs_started(d).len(), 2);
}

#[test]
fn sigterm_in_the_middle_of_a_wave_finishes_the_step_and_leaves_every_member_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut estate = handover::synth::generate(&handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        agents: 3000,
        moving: 0.5,
        seed: 7,
    });
    // One member in a bridge at a time: many waves, each a few journal
    // records.
    estate.desired.policy.max_in_flight = 1;
    std::fs::write(
        d.join("desired.yaml"),
        handover::synth::desired_yaml(&estate.desired),
    )
    .unwrap();
    std::fs::write(
        d.join("estate.yaml"),
        handover::synth::observed_yaml(&estate.observed),
    )
    .unwrap();
    let mut run = start(
        d,
        &[
            "--desired",
            "desired.yaml",
            "--target",
            "sim:estate.yaml",
            "--interval",
            "1h",
            "--log-format",
            "json",
        ],
    );
    run.until(8, "some steps in the journal", || {
        std::thread::sleep(Duration::from_millis(5));
        let j = std::fs::read_to_string(d.join(".handover/journal.jsonl")).unwrap_or_default();
        j.contains("\"event\":\"step\"").then_some(())
    });
    run.sigterm();
    let (code, err) = run.wait(8);
    assert_eq!(code, 0, "{err}");
    // --log-format json: one object per line, the pass's span on each.
    let logs: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let finished = logs
        .iter()
        .find(|l| l["message"] == "pass finished")
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(finished["span"]["trigger"], "startup");
    assert!(
        finished["span"]["revision"]
            .as_str()
            .unwrap()
            .starts_with("digest:")
    );
    assert!(logs.iter().any(|l| l["signal"] == "SIGTERM"), "{err}");
    let records = journal(d);
    let last = records.last().unwrap();
    assert_eq!(last["event"], "run_finished", "{last}");
    assert_eq!(last["outcome"], "interrupted", "{last}");
    let applied = last["applied"].as_u64().unwrap();
    assert!(applied > 0, "{last}");
    let (sim, _) = handover::sim::file::SimFile::open_read_only(&d.join("estate.yaml"), 0).unwrap();
    assert!(sim.sim().stranded().is_empty());
    // The interrupted run did not finish the migration: a next --once
    // carries on.
    let plan_left = handover::plan::plan(
        &handover::load::topology(&[d.join("desired.yaml")]).unwrap(),
        &handover::sim::file::SimFile::open_read_only(&d.join("estate.yaml"), 0)
            .unwrap()
            .0
            .sim()
            .snapshot(&handover::provider::Scope::All),
    );
    assert!(!plan_left.steps.is_empty(), "stopped before the end");
}

#[test]
fn flags_are_checked_before_anything_runs() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    let out = reconcile(d)
        .args([
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
            "--listen",
            "0.0.0.0:9464",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen-non-loopback"));
    reconcile(d)
        .args(["--target", "sim:estate.yaml"])
        .assert()
        .code(1);
    reconcile(d)
        .args([
            "--desired",
            "desired",
            "--git",
            "repo",
            "--target",
            "sim:estate.yaml",
        ])
        .assert()
        .code(1);
    assert!(!d.join(".handover").exists());
}

#[test]
fn a_suspend_file_stops_applying_until_it_is_removed() {
    let tmp = setup("replace-gateway");
    let d = tmp.path();
    std::fs::write(d.join("SUSPEND"), "").unwrap();
    let once = || {
        let mut c = reconcile(d);
        c.args([
            "--once",
            "--desired",
            "desired",
            "--target",
            "sim:estate.yaml",
            "--suspend-file",
            "SUSPEND",
        ]);
        c
    };
    // Changes are due but nothing is applied: not converged, all safe.
    once().assert().code(3);
    assert!(runs_started(d).is_empty());
    std::fs::remove_file(d.join("SUSPEND")).unwrap();
    once().assert().code(0);
    assert_eq!(runs_started(d).len(), 1);
}
