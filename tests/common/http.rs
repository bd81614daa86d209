//! Reading a running `reconcile --listen` over plain HTTP on loopback.
//!
//! Owns the one blocking GET the tests use and `/status` as JSON, with the
//! poll that waits for a status. Must not decide what a test asserts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// GET over plain TCP: (status code, body); `None` while nothing answers.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
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

/// `/status` as JSON; `None` while nothing answers with 200.
pub fn status(addr: SocketAddr) -> Option<serde_json::Value> {
    let (code, body) = get(addr, "/status")?;
    (code == 200).then(|| serde_json::from_str(&body).unwrap())
}

/// Polls `/status` until `f` accepts it (30 s at most); a timeout shows
/// the last status seen.
pub fn status_until(
    addr: SocketAddr,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    loop {
        match status(addr) {
            Some(v) if f(&v) => return v,
            Some(v) => last = Some(v),
            None => {}
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}
