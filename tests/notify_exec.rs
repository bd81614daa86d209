//! Notifications from `reconcile --once` against an `exec:` target: the
//! real `handover-test-provider` as a separate process, its estate with a
//! gateway that is not ready, and a local webhook that receives the
//! `blocked` notification in handover's JSON.

mod common;
mod notify_hook;

use assert_cmd::Command;
use notify_hook::Hook;
use std::path::PathBuf;

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// A file of the `replace-gateway` example.
fn example(file: &str) -> PathBuf {
    common::estate::example("replace-gateway").join(file)
}

#[test]
fn blocked_members_of_an_exec_target_are_notified() {
    let hook = Hook::start(Vec::new());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let desired = std::fs::read_to_string(example("desired.yaml")).unwrap();
    std::fs::write(
        dir.join("desired.yaml"),
        format!(
            "{}\n  notifications:\n    - name: audit\n      urlEnv: AUDIT_URL\n",
            desired.trim_end()
        ),
    )
    .unwrap();
    let observed = std::fs::read_to_string(example("observed.yaml")).unwrap();
    let ready = "  - name: gw2.dmz.contoso.local\n    primary: ms1.contoso.local\n    failover: [ms2.contoso.local]\n    connected: ms1.contoso.local\n    up: true\n    ready: true";
    assert!(observed.contains(ready));
    let estate = dir.join("estate.yaml");
    std::fs::write(
        &estate,
        observed.replacen(ready, &ready.replace("ready: true", "ready: false"), 1),
    )
    .unwrap();
    let state = serde_json::json!({ "observed": handover::load::observed(&estate).unwrap() });
    std::fs::write(
        dir.join("provider.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .env("AUDIT_URL", hook.url("audit"))
        .args(["reconcile", "--once", "--desired", "desired.yaml"])
        .args([
            "--target",
            &format!("exec:{PROVIDER}"),
            "--target-arg",
            "--state",
        ])
        .arg("--target-arg")
        .arg(dir.join("provider.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "blocked is exit 3:\n{err}");
    let got = hook.to("/audit");
    assert_eq!(got.len(), 1, "{err}\n{got:#?}");
    let n = &got[0].body;
    assert_eq!(n["event"], "blocked");
    assert_eq!(n["target"], format!("exec:{PROVIDER}"));
    assert_eq!(n["sync"], "OutOfSync");
    assert!(
        n["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "web01.dmz.contoso.local"),
        "{n:#}"
    );
}
