//! Progressive rollouts rehearsed end to end: `simulate` on
//! examples/rollout-overload (an under-sized gateway that goes down once it
//! carries more than 12 agents) pauses, or rolls back with nobody
//! stranded and every agent on its old parents; the text and JSON say so;
//! docs/rollouts.md shows the real output; a bad rollout policy or fault
//! is refused before anything is rehearsed.

mod common;

use assert_cmd::Command;
use common::overload::{doc_block, path, simulate};
use handover::execute::{self, ConvergeOptions, EngineOptions, Silent};
use handover::name::Name;
use handover::run::rollout::RolloutPlanner;
use handover::sim::{FaultSchedule, Sim, SimConfig};
use serde_json::Value;
use std::path::Path;

#[test]
fn the_overload_pauses_the_rollout_and_the_docs_show_the_real_output() {
    let (code, out, err) = simulate("pause", &[]);
    assert_eq!(code, 3, "paused is not converged, and safe:\n{out}{err}");
    for want in [
        "step 1 of 3 starts: 5 members of this revision in all",
        "step 1 moved its members; soaking until 17m 15s",
        "step 2 of 3 starts: 20 members of this revision in all",
        "analysis failed during step 2: 12 of 12 moved members are not reporting to their new primary (at most 0 may be)",
        "gateway gw9.branch.contoso.local, a new primary, is down",
        "Rollout paused at step 2 of 3: the analysis failed. Nothing new starts until handover resume or a new revision",
        "no member was stranded",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    // Only the first 20 agents were ever admitted.
    assert!(out.contains("20 members moved"), "{out}");
    assert_eq!(
        out,
        doc_block("rollout-pause"),
        "docs/rollouts.md is out of date"
    );
}

#[test]
fn the_overload_rolls_back_and_the_docs_show_the_real_output() {
    let (code, out, err) = simulate("rollback", &[]);
    assert_eq!(code, 3, "{out}{err}");
    for want in [
        "rolling back 20 members to the parents they had before the rollout, make before break",
        "rolled back: every rolled-back member has its parents from before the rollout again",
        "Rollout rolled back at step 2 of 3",
        "no member was stranded",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    assert_eq!(
        out,
        doc_block("rollout-rollback"),
        "docs/rollouts.md is out of date"
    );
}

#[test]
fn the_rehearsal_json_reports_steps_verdicts_and_the_rollback() {
    let (code, out, err) = simulate("rollback", &["--format", "json"]);
    assert_eq!(code, 3, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stranded"], serde_json::json!([]));
    assert_eq!(v["stranded_ever"], serde_json::json!([]));
    let r = &v["rollout"];
    assert_eq!(r["onFailure"], "rollback");
    assert_eq!(r["steps"][0]["target"]["members"], 5);
    assert_eq!(r["steps"][1]["soak"], "30m");
    let events: Vec<&str> = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "stepStarted",
            "soakStarted",
            "stepStarted",
            "analysisFailed",
            "rollbackStarted",
            "rolledBack"
        ]
    );
    assert_eq!(r["timeline"][1]["until"], 1035);
    assert_eq!(r["timeline"][4]["members"].as_array().unwrap().len(), 20);
    assert_eq!(r["last"]["phase"], "rolledBack");
    assert_eq!(r["last"]["step"], 2);
    assert_eq!(r["last"]["analysis"]["verdict"], "failed");
    // Without a rollout policy the JSON has no rollout key.
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "simulate",
            "--desired",
            "examples/topologies/replace-gateway/desired.yaml",
            "--observed",
            "examples/topologies/replace-gateway/observed.yaml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("rollout").is_none(), "{v}");
}

#[test]
fn after_the_rollback_every_agent_is_on_its_old_parents() {
    let desired = handover::load::topology(&[path("rollback.yaml").into()]).unwrap();
    let observed = handover::load::observed_str(
        &std::fs::read_to_string(path("observed.yaml")).unwrap(),
        "o",
    )
    .unwrap();
    let faults = FaultSchedule::load(Path::new(&path("faults.yaml"))).unwrap();
    let mut sim = Sim::try_new(&observed, SimConfig::seeded(0).with_faults(faults)).unwrap();
    let mut planner = RolloutPlanner::new("rehearsal");
    let opts = ConvergeOptions {
        exec: EngineOptions::from_policy(&desired.policy),
        ..ConvergeOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let report = rt.block_on(execute::converge(
        &mut sim,
        &desired,
        &mut planner,
        &opts,
        &mut Silent,
    ));
    assert!(report.stranded_ever.is_empty(), "{report:?}");
    let gw1 = Name::parse("gw1.branch.contoso.local").unwrap();
    let gw2 = Name::parse("gw2.branch.contoso.local").unwrap();
    for i in 1..=40 {
        let m = sim
            .member(&Name::parse(&format!("pos{i:02}.branch.contoso.local")).unwrap())
            .unwrap();
        assert_eq!(m.configured.primary, gw1, "pos{i:02}");
        assert_eq!(
            m.configured.failover,
            std::slice::from_ref(&gw2),
            "pos{i:02}"
        );
        assert_eq!(m.connected.as_ref(), Some(&gw1), "pos{i:02} reports to gw1");
    }
}

#[test]
fn a_bad_rollout_policy_is_refused_before_anything_is_rehearsed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(path("pause.yaml"))
        .unwrap()
        .replace("{percent: 50, soak: 30m}", "{percent: 150, soak: 30m}");
    let t = dir.path().join("bad.yaml");
    std::fs::write(&t, bad).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(["simulate", "--desired"])
        .arg(&t)
        .args(["--observed", &path("observed.yaml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "bad.yaml:28:19: rollout step 2: percent is 150; expected a whole number from 1 to 100"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing rehearsed");
    // A fault that overloads an agent is refused too.
    let f = dir.path().join("f.yaml");
    std::fs::write(
        &f,
        "faults:\n  - overload: {server: pos01.branch.contoso.local, above: 3}\n",
    )
    .unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(["simulate", "--desired", &path("pause.yaml")])
        .args(["--observed", &path("observed.yaml"), "--faults"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "overload names pos01.branch.contoso.local, which is not a management server or gateway"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
