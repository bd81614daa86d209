//! Change windows and approval gates (docs/gates.md) through the real
//! binary: `plan`, `apply` and `reconcile --once` against `sim:` and the
//! exec test provider, `handover approve`, the approvals file, and every
//! bad input refused with its message and nothing applied.

mod common;

use assert_cmd::Command;
use common::gates::{OUTSIDE, WEEKNIGHTS, moved as moved_sim};
use std::path::Path;

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// Tuesday 8 December 2026, 22:30 in Berlin: inside the weeknight window.
const INSIDE: &str = "2026-12-08T22:30:00+01:00";

/// The four agents on ms1.
fn observed() -> String {
    common::gates::observed(4)
}

/// Every agent moves from ms1 to ms2, under `policy`, ten at a time.
fn desired(policy: &str) -> String {
    common::gates::desired(&format!("  maxInFlight: 10\n{policy}"))
}

const APPROVAL: &str = "  approval: {aboveMembers: 2}\n";

fn setup(policy: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("topology")).unwrap();
    std::fs::write(tmp.path().join("topology/desired.yaml"), desired(policy)).unwrap();
    let text = observed();
    std::fs::write(tmp.path().join("estate.yaml"), &text).unwrap();
    let observed = handover::load::observed_str(&text, "o.yaml").unwrap();
    std::fs::write(
        tmp.path().join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
    )
    .unwrap();
    tmp
}

fn handover(dir: &Path, now: &str) -> Command {
    let mut c = Command::cargo_bin("handover").unwrap();
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HANDOVER_NOW", now)
        .env("HANDOVER_LOCK_DIR", dir.join("locks"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    common::process::outcome(c.output().unwrap())
}

fn apply_sim(dir: &Path, now: &str, extra: &[&str]) -> (i32, String, String) {
    run(handover(dir, now)
        .args(["apply", "--auto-approve", "--desired", "topology"])
        .args(["--target", "sim:estate.yaml"])
        .args(extra))
}

fn apply_exec(dir: &Path, now: &str, extra: &[&str]) -> (i32, String, String) {
    run(handover(dir, now)
        .args(["apply", "--auto-approve", "--desired", "topology"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .args(["--target-arg", "--state", "--target-arg"])
        .arg(dir.join("provider.json"))
        .args(["--state-dir", ".handover"])
        .args(extra))
}

fn reconcile_once(dir: &Path, now: &str) -> (i32, String, String) {
    run(handover(dir, now)
        .args(["reconcile", "--once", "--desired", "topology"])
        .args(["--target", "sim:estate.yaml"]))
}

/// How many agents report ms2 in the exec test provider's state.
fn moved_exec(dir: &Path) -> usize {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("provider.json")).unwrap()).unwrap();
    v["observed"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["primary"] == "ms2.contoso.local")
        .count()
}

fn digest_in(text: &str) -> String {
    let i = text.find("Digest: ").expect(text) + "Digest: ".len();
    text[i..i + 24].to_string()
}

#[test]
fn plan_says_whether_the_window_is_open_and_when_it_next_opens() {
    let tmp = setup(WEEKNIGHTS);
    let d = tmp.path();
    let (code, out, _) = run(handover(d, OUTSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
    ]));
    assert_eq!(code, 0);
    assert!(
        out.contains("Change window: closed now (2026-12-12T11:00:00Z); the next window opens at 2026-12-14T21:00:00Z."),
        "{out}"
    );
    let (_, out, _) = run(handover(d, INSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
    ]));
    assert!(
        out.contains(
            "Change window: open now (2026-12-08T21:30:00Z); it closes at 2026-12-09T01:00:00Z."
        ),
        "{out}"
    );
    // JSON stays machine output only: the note goes to stderr.
    let (_, out, err) = run(handover(d, OUTSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
        "--format",
        "json",
    ]));
    assert!(
        out.starts_with('{') && !out.contains("Change window"),
        "{out}"
    );
    assert!(err.contains("Change window: closed now"), "{err}");
}

#[test]
fn apply_refuses_outside_a_window_and_applies_nothing_unless_told_to_ignore_it() {
    let tmp = setup(WEEKNIGHTS);
    let d = tmp.path();
    let (code, _, err) = apply_sim(d, OUTSIDE, &[]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("error: outside the change window (policy.windows): no change may start now (2026-12-12T11:00:00Z); the next window opens at 2026-12-14T21:00:00Z. Nothing was applied"),
        "{err}"
    );
    assert_eq!(moved_sim(d), 0);
    let (code, _, err) = apply_sim(d, OUTSIDE, &["--ignore-windows"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("applying anyway because of --ignore-windows"),
        "{err}"
    );
    assert_eq!(moved_sim(d), 4);
}

#[test]
fn apply_inside_a_window_converges_through_the_exec_provider() {
    let tmp = setup(WEEKNIGHTS);
    let d = tmp.path();
    let (code, _, err) = apply_exec(d, OUTSIDE, &[]);
    assert_eq!(code, 6, "{err}");
    assert_eq!(moved_exec(d), 0);
    let (code, out, err) = apply_exec(d, INSIDE, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(moved_exec(d), 4);
}

#[test]
fn reconcile_starts_nothing_outside_a_window_and_everything_inside() {
    let tmp = setup(WEEKNIGHTS);
    let d = tmp.path();
    let (code, _, err) = reconcile_once(d, OUTSIDE);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("outside the change window"), "{err}");
    assert_eq!(moved_sim(d), 0);
    let (code, _, err) = reconcile_once(d, INSIDE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(moved_sim(d), 4);
}

#[test]
fn a_member_in_a_bridge_when_the_window_closes_is_still_acknowledged_and_pruned() {
    let tmp = setup(WEEKNIGHTS);
    let d = tmp.path();
    // a1 is in its bridge: new primary ms2, old parent ms1 kept as failover.
    let bridged = observed().replacen(
        "{name: a1.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}",
        "{name: a1.contoso.local, primary: ms2.contoso.local, failover: [ms1.contoso.local], connected: ms2.contoso.local}",
        1,
    );
    std::fs::write(d.join("estate.yaml"), bridged).unwrap();
    let (code, _, err) = reconcile_once(d, OUTSIDE);
    assert_eq!(code, 3, "{err}");
    let o = handover::load::observed(&d.join("estate.yaml")).unwrap();
    let a1 = o
        .agents
        .iter()
        .find(|a| a.name.as_str() == "a1.contoso.local")
        .unwrap();
    assert!(
        a1.parents.failover.is_empty(),
        "a1 was not pruned: {:?}",
        a1.parents
    );
    assert_eq!(moved_sim(d), 1, "only a1, which had started, may finish");
}

#[test]
fn above_the_threshold_apply_waits_for_handover_approve() {
    let tmp = setup(APPROVAL);
    let d = tmp.path();
    let (_, out, _) = run(handover(d, INSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
    ]));
    assert!(
        out.contains("Approval needed: this plan moves 4 of 4 members, above policy.approval (aboveMembers 2)."),
        "{out}"
    );
    let digest = digest_in(&out);
    let (code, _, err) = apply_exec(d, INSIDE, &[]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains(&format!(
            "it needs approval of {digest} before --auto-approve"
        )),
        "{err}"
    );
    assert_eq!(moved_exec(d), 0);
    assert!(
        !d.join(".handover/journal.jsonl").exists()
            || !std::fs::read_to_string(d.join(".handover/journal.jsonl"))
                .unwrap()
                .contains("run_started")
    );

    let (code, out, err) = run(handover(d, INSIDE).env("USER", "alice").args([
        "approve",
        &digest,
        "--state-dir",
        ".handover",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Approved {digest} as alice")),
        "{out}"
    );
    let journal = std::fs::read_to_string(d.join(".handover/journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"event\":\"approved\",") && journal.contains("\"user\":\"alice\""),
        "{journal}"
    );
    let (code, _, err) = apply_exec(d, INSIDE, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("approval: {digest} was approved by alice.")),
        "{err}"
    );
    assert_eq!(moved_exec(d), 4);
}

#[test]
fn a_changed_observation_needs_a_new_approval() {
    let tmp = setup(APPROVAL);
    let d = tmp.path();
    let plan = |d: &Path| {
        let (_, out, _) = run(handover(d, INSIDE).args([
            "plan",
            "--desired",
            "topology",
            "--observed",
            "estate.yaml",
        ]));
        digest_in(&out)
    };
    let first = plan(d);
    run(handover(d, INSIDE).args(["approve", &first, "--state-dir", ".handover"]));
    // Someone gives a4 a failover by hand: the plan changes, so does its digest.
    std::fs::write(
        d.join("estate.yaml"),
        observed().replacen(
            "a4.contoso.local, primary: ms1.contoso.local, failover: []",
            "a4.contoso.local, primary: ms1.contoso.local, failover: [ms2.contoso.local]",
            1,
        ),
    )
    .unwrap();
    let second = plan(d);
    assert_ne!(first, second);
    let (code, _, err) = apply_sim(d, INSIDE, &["--state-dir", ".handover"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains(&second), "{err}");
    assert_eq!(moved_sim(d), 0);
}

#[test]
fn the_approvals_file_in_the_desired_source_approves_a_digest() {
    let tmp = setup(APPROVAL);
    let d = tmp.path();
    let (_, out, _) = run(handover(d, INSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
    ]));
    let digest = digest_in(&out);
    std::fs::write(
        d.join("topology/handover-approvals.txt"),
        format!("# CHG0042, approved by the change board\n{digest} alice\n"),
    )
    .unwrap();
    let (_, out, _) = run(handover(d, INSIDE).args([
        "plan",
        "--desired",
        "topology",
        "--observed",
        "estate.yaml",
    ]));
    assert!(
        out.contains(&format!("approved: {digest} is in handover-approvals.txt")),
        "{out}"
    );
    let (code, _, err) = reconcile_once(d, INSIDE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(moved_sim(d), 4);
}

#[test]
fn reconcile_awaits_approval_and_then_moves() {
    let tmp = setup(APPROVAL);
    let d = tmp.path();
    let (code, _, err) = reconcile_once(d, INSIDE);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("sync=\"AwaitingApproval\""), "{err}");
    assert_eq!(moved_sim(d), 0);
    let i = err.find("handover approve ").unwrap() + "handover approve ".len();
    let digest = &err[i..i + 24];
    let (code, _, _) =
        run(handover(d, INSIDE).args(["approve", digest, "--target", "sim:estate.yaml"]));
    assert_eq!(code, 0);
    let (code, _, err) = reconcile_once(d, INSIDE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(moved_sim(d), 4);
}

#[test]
fn a_bad_digest_is_refused_and_nothing_recorded() {
    let tmp = setup(APPROVAL);
    let d = tmp.path();
    for bad in ["fnv1a64:0123", "sha256:0123456789abcdef", "yes"] {
        let (code, out, err) =
            run(handover(d, INSIDE).args(["approve", bad, "--state-dir", ".handover"]));
        assert_eq!(code, 1);
        assert!(out.is_empty());
        assert!(
            err.contains(&format!(
                "error: {bad:?} is not an approval digest; expected fnv1a64: and 16 hex digits"
            )),
            "{err}"
        );
    }
    assert!(!d.join(".handover/journal.jsonl").exists());
    // A bad line in the approvals file: apply says where, and applies nothing.
    std::fs::write(
        d.join("topology/handover-approvals.txt"),
        "approve everything\n",
    )
    .unwrap();
    let (code, _, err) = apply_sim(d, INSIDE, &[]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("handover-approvals.txt:1:1: \"approve\" is not an approval digest"),
        "{err}"
    );
    assert_eq!(moved_sim(d), 0);
}

#[test]
fn bad_windows_are_refused_with_their_place_and_nothing_applied() {
    for (policy, message) in [
        (
            "  windows:\n    - {kind: allow, schedule: \"0 22 * * 8\", duration: 4h}\n",
            "topology/desired.yaml:9:31: window schedule \"0 22 * * 8\" is not a cron schedule",
        ),
        (
            "  windows:\n    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: 4h, timeZone: Europe/Bonn}\n",
            "window timeZone \"Europe/Bonn\" is not a known IANA time zone",
        ),
        (
            "  windows:\n    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: -4h}\n",
            "window duration \"-4h\" is not a duration; expected a whole number above 0",
        ),
    ] {
        let tmp = setup(policy);
        let d = tmp.path();
        for (code, out, err) in [apply_sim(d, INSIDE, &[]), reconcile_once(d, INSIDE)] {
            assert_eq!(code, 1, "{out}{err}");
            assert!(err.contains(message), "{err}");
        }
        assert_eq!(moved_sim(d), 0);
        assert!(!d.join(".handover/journal.jsonl").exists());
    }
}

#[test]
fn a_bad_handover_now_is_refused() {
    let tmp = setup(WEEKNIGHTS);
    let (code, _, err) = apply_sim(tmp.path(), "next tuesday", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("HANDOVER_NOW=\"next tuesday\" is not an RFC 3339 time"),
        "{err}"
    );
    assert_eq!(moved_sim(tmp.path()), 0);
}

/// A pass that starts inside a window starts nothing once it closes: the
/// window is cut to close a few seconds after the pass plans, on the wall
/// clock, and each write to the exec test provider takes 1.5 s, so the
/// eight moves of one member at a time would take far longer than the
/// window. Some members move, not all; the ones in a bridge are safe and
/// the next pass finishes them.
#[test]
fn a_pass_stops_starting_members_when_the_window_closes() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (minute, hour, into) = ((now / 60) % 60, (now / 3600) % 24, now % 60);
    let policy = format!(
        "  maxInFlight: 1\n  windows:\n    - {{kind: allow, schedule: \"{minute} {hour} * * *\", duration: {}s}}\n",
        into + 4
    );
    let tmp = setup("");
    let d = tmp.path();
    let mut observed = observed();
    for i in 5..=8 {
        observed.push_str(&format!(
            "  - {{name: a{i}.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}}\n"
        ));
    }
    let o = handover::load::observed_str(&observed, "o.yaml").unwrap();
    std::fs::write(
        d.join("provider.json"),
        serde_json::to_vec(&serde_json::json!({ "observed": o })).unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("topology/desired.yaml"),
        desired(&policy).replace("  maxInFlight: 10\n", ""),
    )
    .unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(d)
        .env("HANDOVER_LOCK_DIR", d.join("locks"))
        .args(["reconcile", "--once", "--desired", "topology"])
        .args(["--target", &format!("exec:{PROVIDER}")])
        .args(["--target-arg", "--state", "--target-arg"])
        .arg(d.join("provider.json"))
        .args(["--target-arg", "--apply-delay-ms", "--target-arg", "1500"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        moved_exec(d) < 8,
        "every member moved although the window closed:\n{err}"
    );
    assert!(
        err.contains("the change window closed: no new change starts in this pass")
            || err.contains("outside the change window"),
        "{err}"
    );
}
