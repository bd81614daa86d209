//! `handover provider check` against the test provider: every check
//! passes in version 1 and in session mode (with `--member`, the one write
//! it makes changes nothing), and a misbehaving provider fails with the
//! failed checks named and a non-zero exit.

use assert_cmd::Command;
use serde_json::Value;

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

fn state() -> tempfile::TempDir {
    let ex = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies/replace-gateway/observed.yaml");
    let observed = handover::load::observed(&ex).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let doc = serde_json::json!({ "observed": observed });
    std::fs::write(tmp.path().join("p.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
    tmp
}

fn check(dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.args(["provider", "check", "--target", &format!("exec:{PROVIDER}")])
        .arg(format!(
            "--target-arg=--state={}",
            dir.join("p.json").display()
        ))
        .args(extra)
        .timeout(std::time::Duration::from_secs(60));
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn applied(dir: &std::path::Path) -> usize {
    let s: Value = serde_json::from_slice(&std::fs::read(dir.join("p.json")).unwrap()).unwrap();
    s["applied"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_version_1_provider_passes_and_nothing_is_written() {
    let tmp = state();
    let (code, out) = check(tmp.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("All 4 checks passed."), "{out}");
    assert_eq!(applied(tmp.path()), 0, "check changed the estate");
}

#[test]
fn a_session_provider_passes_with_batches_and_idempotency() {
    let tmp = state();
    let (code, out) = check(
        tmp.path(),
        &[
            "--target-arg=--session",
            "--member",
            "web05.dmz.contoso.local",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passed"], true, "{v:#}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in [
        "session: every request in one process, in step",
        "batch: one result per operation",
        "idempotency: re-applying --member changes nothing",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    // The one write re-applied web05's own parents.
    assert_eq!(applied(tmp.path()), 1);
}

#[test]
fn a_misbehaving_provider_fails_with_the_checks_named() {
    let tmp = state();
    let (code, out) = check(
        tmp.path(),
        &[
            "--target-arg=--session",
            "--target-arg=--misbehave=garbage",
            "--target-arg=--on=observe",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  observe: one valid Observed document"),
        "{out}"
    );
    assert!(out.contains("checks failed."), "{out}");
}
