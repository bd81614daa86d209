//! `handover apply --format json`, driven as a script would: stdout holds
//! exactly one JSON document (parsed here), every word for people goes to
//! stderr, and the numbers add up with the plan's.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

/// `estate.yaml` (a `sim:` target), `provider.json` (the test provider's
/// state) and `desired.yaml` of an example in a new directory.
fn setup(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("observed.yaml", "estate.yaml"),
        ("desired.yaml", "desired.yaml"),
    ] {
        std::fs::copy(example(name).join(from), tmp.path().join(to)).unwrap();
    }
    let observed = handover::load::observed(&example(name).join("observed.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    tmp
}

fn handover(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stdout must be one JSON document and nothing else.
fn document(stdout: &str) -> Value {
    assert_eq!(stdout.lines().count(), 1, "one line of JSON:\n{stdout}");
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"))
}

const SIM: [&str; 6] = [
    "apply",
    "--format",
    "json",
    "--desired",
    "desired.yaml",
    "--target",
];

#[test]
fn a_converging_apply_prints_one_document_that_adds_up() {
    let tmp = setup("replace-gateway");
    let mut args = SIM.to_vec();
    args.extend(["sim:estate.yaml", "--auto-approve"]);
    let (code, out, err) = handover(tmp.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    let v = document(&out);
    assert_eq!(v["format"], 1);
    assert_eq!(v["verdict"], "converged");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["target"], "sim:estate.yaml");
    assert!(v["run"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
    assert!(
        v["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("files:"))
    );
    assert!(v["observed_digest"].as_str().is_some(), "{v}");
    assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
    let p = &v["plan"];
    assert_eq!(
        (&p["members"], &p["operations"], &p["waits"], &p["steps"]),
        (&16.into(), &31.into(), &14.into(), &45.into())
    );
    let a = &v["applied"];
    let sum: u64 = [
        "bridges",
        "prunes",
        "set_directly",
        "retirements",
        "failovers",
    ]
    .iter()
    .map(|k| a[*k].as_u64().unwrap())
    .sum();
    assert_eq!(a["operations"].as_u64(), Some(sum), "{a}");
    assert_eq!(a["operations"], 31);
    assert_eq!(a["waits_met"], 14);
    assert_eq!(v["failures"], serde_json::json!([]));
    assert_eq!(v["counts"]["failed"], 0);
    assert_eq!(v["session_restarts"], 0);
    // The plan and the summary went to stderr, for a person watching.
    assert!(err.contains("Plan: 16 members to change"), "{err}");
    assert!(err.contains("Converged"), "{err}");
    // Once converged, there is nothing to apply, and the document says so.
    let (code, out, _) = handover(tmp.path(), &args);
    assert_eq!(code, 0);
    let v = document(&out);
    assert_eq!(v["verdict"], "converged");
    assert_eq!(v["run"], Value::Null);
    assert_eq!(v["plan"]["steps"], 0);
}

#[test]
fn without_auto_approve_off_a_terminal_it_refuses_in_json_and_applies_nothing() {
    let tmp = setup("replace-gateway");
    let before = std::fs::read(tmp.path().join("estate.yaml")).unwrap();
    let mut args = SIM.to_vec();
    args.push("sim:estate.yaml");
    let (code, out, err) = handover(tmp.path(), &args);
    assert_eq!(code, 1, "{out}\n{err}");
    let v = document(&out);
    assert_eq!(v["verdict"], "error");
    assert_eq!(v["exit_code"], 1);
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("--format json needs --auto-approve") && msg.contains("nothing was applied"),
        "{msg}"
    );
    assert!(err.contains("needs --auto-approve"), "{err}");
    assert_eq!(
        std::fs::read(tmp.path().join("estate.yaml")).unwrap(),
        before
    );
}

#[test]
fn invalid_input_is_an_error_document_and_nothing_is_applied() {
    let tmp = setup("replace-gateway");
    std::fs::write(
        tmp.path().join("desired.yaml"),
        "apiVersion: handover/v1\nkind: Topology\nagentz: []\n",
    )
    .unwrap();
    let before = std::fs::read(tmp.path().join("estate.yaml")).unwrap();
    let mut args = SIM.to_vec();
    args.extend(["sim:estate.yaml", "--auto-approve"]);
    let (code, out, err) = handover(tmp.path(), &args);
    assert_eq!(code, 1, "{out}\n{err}");
    let v = document(&out);
    assert_eq!(v["verdict"], "error");
    assert!(
        v["error"].as_str().unwrap().contains("desired.yaml:3:1"),
        "{v}"
    );
    assert_eq!(
        std::fs::read(tmp.path().join("estate.yaml")).unwrap(),
        before
    );
}

#[test]
fn failures_carry_their_kind_and_the_providers_words() {
    let tmp = setup("replace-gateway");
    let state = format!(
        "--target-arg=--state={}",
        tmp.path().join("provider.json").display()
    );
    let target = format!("exec:{PROVIDER}");
    let mut args = SIM.to_vec();
    args.extend([
        target.as_str(),
        state.as_str(),
        "--auto-approve",
        "--target-arg=--misbehave",
        "--target-arg=error",
        "--target-arg=--on",
        "--target-arg=web05.dmz.contoso.local",
    ]);
    let (code, out, err) = handover(tmp.path(), &args);
    assert_eq!(code, 3, "{out}\n{err}");
    let v = document(&out);
    assert_eq!(v["verdict"], "not_converged");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["counts"]["failed"], 1);
    assert_eq!(
        v["members"]["failed"],
        serde_json::json!(["web05.dmz.contoso.local"])
    );
    let f = &v["failures"][0];
    assert_eq!(f["member"], "web05.dmz.contoso.local");
    assert_eq!(f["why"], "refused");
    assert!(
        f["reason"].as_str().unwrap().contains("access is denied"),
        "{f}"
    );
    assert!(v["process_starts"].as_u64().unwrap() > 0, "{v}");
    // The person still reads why on stderr.
    assert!(err.contains("web05.dmz.contoso.local: refused:"), "{err}");
}
