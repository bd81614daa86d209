//! The change window and a pending approval on a running `reconcile
//! --listen`: `/status` (`window`, `approval`, `sync: AwaitingApproval`),
//! the page's "Change window and approval" section and `/metrics`, then
//! the approval through `handover approve` and the next pass
//! (docs/gates.md). The real binary against a `sim:` estate.

mod common;

use common::gates::{OUTSIDE, WEEKNIGHTS, desired, moved, observed};
use common::http::{get, status_until as until};
use common::process::{Killed, free_addr};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

fn start(dir: &Path, now: &str) -> (Killed, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(dir)
        .env("HANDOVER_NOW", now)
        .env("HANDOVER_LOCK_DIR", dir.join("locks"))
        .args(["reconcile", "--desired", "desired.yaml"])
        .args(["--target", "sim:estate.yaml"])
        .args(["--interval", "1s", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), addr)
}

#[test]
fn a_closed_window_shows_on_status_and_the_page_and_starts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("desired.yaml"), desired(WEEKNIGHTS)).unwrap();
    std::fs::write(d.join("estate.yaml"), observed(3)).unwrap();
    let (_run, addr) = start(d, OUTSIDE);
    let s = until(addr, "a pass", |s| s["passes"].as_u64() >= Some(1));
    assert_eq!(
        s["window"],
        serde_json::json!({"open": false, "closesAt": null, "nextOpen": "2026-12-14T21:00:00Z"}),
        "{s}"
    );
    assert_eq!(s["approval"], serde_json::Value::Null, "{s}");
    assert_eq!(s["sync"], "OutOfSync", "{s}");
    let (_, page) = get(addr, "/").unwrap();
    assert!(
        page.contains(
            "data-testid=\"window\" data-open=\"false\">closed, next opens 2026-12-14T21:00:00Z"
        ),
        "{page}"
    );
    let (_, metrics) = get(addr, "/metrics").unwrap();
    assert!(
        metrics.contains("\nhandover_reconcile_window_open 0\n"),
        "{metrics}"
    );
    assert_eq!(moved(d), 0);
}

#[test]
fn a_pending_approval_shows_its_digest_and_moves_once_approved() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("desired.yaml"),
        desired("  approval: {aboveMembers: 2}\n"),
    )
    .unwrap();
    std::fs::write(d.join("estate.yaml"), observed(3)).unwrap();
    let (_run, addr) = start(d, OUTSIDE);
    let s = until(addr, "awaiting approval", |s| {
        s["sync"] == "AwaitingApproval"
    });
    let a = &s["approval"];
    assert_eq!(a["awaiting"], true, "{s}");
    assert_eq!(a["members"], 3, "{s}");
    assert_eq!(
        a["threshold"],
        serde_json::json!({"aboveMembers": 2, "abovePercent": null}),
        "{s}"
    );
    assert_eq!(s["window"], serde_json::Value::Null, "{s}");
    let digest = a["digest"].as_str().unwrap().to_string();
    let (_, page) = get(addr, "/page/main").unwrap();
    assert!(
        page.contains(&format!("awaiting approval: 3 members would move; approve with <code>handover approve {digest}</code>")),
        "{page}"
    );
    let (_, metrics) = get(addr, "/metrics").unwrap();
    assert!(
        metrics.contains("handover_reconcile_sync_status{status=\"AwaitingApproval\"} 1")
            && metrics.contains("\nhandover_reconcile_approval_awaiting 1\n")
            && !metrics.contains("handover_reconcile_window_open"),
        "{metrics}"
    );
    assert_eq!(moved(d), 0);

    let out = Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(d)
        .env("USER", "alice")
        .args(["approve", &digest, "--target", "sim:estate.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = until(addr, "the approved migration", |s| s["sync"] == "Synced");
    // The pass that found the approval says who gave it.
    let a = &s["approval"];
    assert_eq!(
        (&a["awaiting"], &a["approvedBy"], &a["digest"]),
        (
            &serde_json::json!(false),
            &serde_json::json!("alice"),
            &serde_json::json!(digest)
        ),
        "{s}"
    );
    assert!(
        a["approvedAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{s}"
    );
    assert_eq!(moved(d), 3);
}
