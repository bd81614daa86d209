//! Change windows and the approval gate through `reconcile` against the
//! exec test provider (a separate process for every request): `--once`
//! outside a window and while approval is awaited writes nothing to the
//! provider and exits 3; the loop shows the held state on `/status`; an
//! approval lets the next pass move everyone. Windows are open or closed
//! at any time, so nothing here depends on the clock.

mod common;
#[path = "common/matrix.rs"]
mod matrix;

use common::process::{Killed, free_port};
use matrix::{APPROVAL, CLOSED, Estate, OPEN, run};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn reconcile_once_exec(e: &Estate) -> (i32, String, String) {
    run(e
        .handover()
        .args(["reconcile", "--once", "--desired", "topology"])
        .args(e.exec_args()))
}

#[test]
fn reconcile_once_writes_nothing_to_the_provider_outside_a_window() {
    let e = Estate::new(CLOSED);
    let (code, _, err) = reconcile_once_exec(&e);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("outside the change window: no new change starts"),
        "{err}"
    );
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
    assert_eq!(e.moved_exec(), 0);
}

#[test]
fn reconcile_once_moves_everyone_inside_a_window() {
    let e = Estate::new(OPEN);
    let (code, _, err) = reconcile_once_exec(&e);
    assert_eq!(code, 0, "{err}");
    assert_eq!(e.moved_exec(), 4);
}

#[test]
fn reconcile_once_awaits_approval_then_moves_once_approved() {
    let e = Estate::new(APPROVAL);
    let (code, _, err) = reconcile_once_exec(&e);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("sync=\"AwaitingApproval\""), "{err}");
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
    let digest = matrix::digest_after(&err, "handover approve ");
    let (code, out, err) =
        run(e
            .handover()
            .env("USER", "bob")
            .args(["approve", &digest, "--state-dir", ".handover"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("Approved {digest} as bob")), "{out}");
    let (code, _, err) = reconcile_once_exec(&e);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("approval given"), "{err}");
    assert_eq!(e.moved_exec(), 4);
}

/// GET over plain TCP: (status code, body); `None` while nothing listens.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.get(9..12)?.parse().ok()?;
    Some((code, text.split_once("\r\n\r\n")?.1.to_string()))
}

/// Polls `/status` until `f` accepts it (60 s at most).
fn until(
    addr: SocketAddr,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = get(addr, "/status") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if f(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {v}"
            );
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `reconcile` (the loop) of `e` against the exec test provider, with
/// `/status` on the returned address.
fn start_loop(e: &Estate) -> (Killed, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(e.dir())
        .env("HANDOVER_LOCK_DIR", e.dir().join("locks"))
        .env_remove("HANDOVER_NOW")
        .args(["reconcile", "--desired", "topology"])
        .args(e.exec_args())
        .args(["--interval", "1s", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), addr)
}

#[test]
fn the_loop_writes_nothing_to_the_exec_provider_outside_a_window() {
    let e = Estate::new(CLOSED);
    let (_run, addr) = start_loop(&e);
    let s = until(addr, "two passes", |s| s["passes"].as_u64() >= Some(2));
    assert_eq!(
        s["window"],
        serde_json::json!({"open": false, "closesAt": null, "nextOpen": null}),
        "{s}"
    );
    assert_eq!(s["sync"], "OutOfSync", "{s}");
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
}

#[test]
fn the_loop_holds_the_exec_estate_while_approval_is_awaited_and_moves_once_approved() {
    let e = Estate::new(&format!("{OPEN}{APPROVAL}"));
    let (_run, addr) = start_loop(&e);
    let s = until(addr, "a pass awaiting approval", |s| {
        s["sync"] == "AwaitingApproval"
    });
    assert_eq!(s["window"]["open"], true, "{s}");
    assert_eq!(s["approval"]["awaiting"], true, "{s}");
    assert_eq!(s["approval"]["members"], 4, "{s}");
    assert_eq!(e.applied_exec(), 0, "{:#}", e.provider());
    let digest = s["approval"]["digest"].as_str().unwrap().to_string();
    let (code, _, err) = run(e
        .handover()
        .args(["approve", &digest, "--state-dir", ".handover"]));
    assert_eq!(code, 0, "{err}");
    let s = until(addr, "Synced after the approval", |s| s["sync"] == "Synced");
    assert_eq!(s["approval"]["awaiting"], false, "{s}");
    assert_eq!(e.moved_exec(), 4);
}
