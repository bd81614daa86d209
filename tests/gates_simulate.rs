//! Change windows and approvals rehearsed by `simulate` on its virtual
//! clock (docs/gates.md): `--start`, `--approve`, `--auto-approve`, the
//! lines of the text report and the `gates` list of the JSON one.

mod common;

use assert_cmd::Command;
use common::gates::{WEEKNIGHTS, desired, observed};
use std::path::Path;

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let policy = format!("{WEEKNIGHTS}  approval: {{aboveMembers: 2}}\n");
    std::fs::write(tmp.path().join("desired.yaml"), desired(&policy)).unwrap();
    std::fs::write(tmp.path().join("observed.yaml"), observed(3)).unwrap();
    tmp
}

fn simulate(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .args(["simulate", "--desired", "desired.yaml"])
        .args(["--observed", "observed.yaml"])
        .args(extra)
        .output()
        .unwrap();
    common::process::outcome(out)
}

#[test]
fn a_rehearsal_waits_for_the_window_and_says_when_it_held_and_approved() {
    let tmp = setup();
    let (code, out, err) = simulate(
        tmp.path(),
        &["--start", "2026-12-12T12:00:00+01:00", "--auto-approve"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("at 0s (2026-12-12T11:00:00Z): approved fnv1a64:"),
        "{out}"
    );
    assert!(
        out.contains("at 0s (2026-12-12T11:00:00Z): outside the change window: 3 members held back until it opens at 2026-12-14T21:00:00Z."),
        "{out}"
    );
    assert!(
        out.contains(
            "at 2days 10h (2026-12-14T21:00:00Z): the change window is open: changes may start."
        ),
        "{out}"
    );
    assert!(out.contains("Converged (make-before-break)"), "{out}");
}

#[test]
fn without_approval_nothing_moves_and_the_digest_is_named() {
    let tmp = setup();
    let (code, out, _) = simulate(tmp.path(), &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("awaiting approval: 3 members would move; approve fnv1a64:"),
        "{out}"
    );
    assert!(out.contains("0 members moved"), "{out}");
    // The digest `plan` prints is the one the rehearsal approves.
    let plan = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(tmp.path())
        .env("HANDOVER_NOW", "2026-12-08T21:30:00Z")
        .args([
            "plan",
            "--desired",
            "desired.yaml",
            "--observed",
            "observed.yaml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    let i = text.find("Digest: ").unwrap() + "Digest: ".len();
    let digest = &text[i..i + 24];
    assert!(out.contains(digest), "{out}\n{text}");
    let (code, out, _) = simulate(tmp.path(), &["--approve", digest, "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["gates"],
        serde_json::json!([
            {"at_seconds": 0, "at": "2026-12-08T21:30:00Z", "event": "approved", "digest": digest, "members": 3},
            {"at_seconds": 0, "at": "2026-12-08T21:30:00Z", "event": "window_open", "members": 0}
        ]),
        "{v}"
    );
}

#[test]
fn a_bad_start_or_digest_is_refused() {
    let tmp = setup();
    let (code, out, err) = simulate(tmp.path(), &["--start", "tomorrow"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("error: --start \"tomorrow\" is not an RFC 3339 time"),
        "{err}"
    );
    let (code, out, err) = simulate(tmp.path(), &["--approve", "fnv1a64:xyz"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("error: --approve \"fnv1a64:xyz\" is not an approval digest"),
        "{err}"
    );
}
