//! What `handover apply` says about a run, driven as a user would through
//! the real `handover-test-provider`: failed members explained on stderr
//! with the provider's own words (a refusal, a timeout and a broken
//! program each named as what it is), "the report" mentioned only when
//! there is one, and counts that add up with the plan's.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

/// `desired.yaml` and `provider.json` (the test provider's state, starting
/// as the example's observed estate) in a new temporary directory.
fn setup(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        example(name).join("desired.yaml"),
        tmp.path().join("desired.yaml"),
    )
    .unwrap();
    let observed = handover::load::observed(&example(name).join("observed.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    tmp
}

/// `apply --auto-approve` of the replace-gateway example in `dir` through
/// the test provider, misbehaving as `misbehave` says for web05 only.
fn apply(dir: &Path, misbehave: Option<&str>, extra: &[&str]) -> (i32, String, String) {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["apply", "--auto-approve", "--desired", "desired.yaml"])
        .args(["--provider-timeout", "1s"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .arg(format!(
            "--target-arg=--state={}",
            dir.join("provider.json").display()
        ));
    if let Some(m) = misbehave {
        c.args(["--target-arg=--misbehave", &format!("--target-arg={m}")])
            .args(["--target-arg=--on", "--target-arg=web05.dmz.contoso.local"]);
    }
    let out = c.args(extra).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_refusal_is_explained_on_stderr_with_the_providers_words() {
    let tmp = setup("replace-gateway");
    let (code, out, err) = apply(tmp.path(), Some("error"), &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        err.contains(
            "1 member failed:\n  web05.dmz.contoso.local: refused: provider handover-test-provider (apply): access is denied (exited with status 1)"
        ),
        "{err}"
    );
    assert!(!err.contains("timed out"), "{err}");
    // No report was asked for, so none is mentioned.
    assert!(
        !out.contains("report") && !err.contains("report"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("Failed (why: above on stderr) (1): web05.dmz.contoso.local"),
        "{out}"
    );
}

#[test]
fn a_broken_program_is_a_provider_error_quoting_its_stderr() {
    let tmp = setup("replace-gateway");
    let (code, out, err) = apply(tmp.path(), Some("exit3"), &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        err.contains("web05.dmz.contoso.local: provider error (the provider program failed): provider handover-test-provider (apply): exited with status 3 and wrote no response"),
        "{err}"
    );
    assert!(
        err.contains("its stderr ends with: handover-test-provider: fatal: the SDK service refused the connection"),
        "{err}"
    );
    assert!(!err.contains(": refused:"), "{err}");
}

#[test]
fn a_timeout_is_called_a_timeout_never_a_refusal() {
    let tmp = setup("replace-gateway");
    let (code, out, err) = apply(tmp.path(), Some("hang"), &["--report", "run.json"]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        err.contains("web05.dmz.contoso.local: timed out (no answer in time, after every retry): provider handover-test-provider (apply): timed out after 1s; the program was killed"),
        "{err}"
    );
    assert!(!err.contains("refused"), "{err}");
    assert!(!out.contains("refused"), "{out}");
    // With a report, the summary says where it is.
    assert!(
        out.contains(
            "Failed (why: above on stderr, and in the report run.json) (1): web05.dmz.contoso.local"
        ),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(report["planned"]["operations"], 31);
}

#[test]
fn the_summary_counts_in_the_plans_words_and_adds_up() {
    let tmp = setup("replace-gateway");
    let (code, out, err) = apply(tmp.path(), None, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("Plan: 16 members to change (14 through a bridge, 2 set directly), 1 gateway to retire, in 45 steps (31 operations, 14 waits);"),
        "{out}"
    );
    // 14 bridges + 14 prunes + 2 set directly + 1 retired = 31.
    assert!(
        out.contains("Applied 31 of 31 operations: 14 bridges, 14 prunes, 2 set directly, 1 gateway retired; 0 skipped (already held).\nWaited for 14 of 14 waits (14 members acknowledged);"),
        "{out}"
    );
    assert!(!err.contains("failed"), "{err}");
}
