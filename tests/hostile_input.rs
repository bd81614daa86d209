//! Hostile input never panics, hangs or eats memory: each class gets a clear
//! `file:line:column` error from the real binary in bounded time (the
//! timeout below kills a hang; it is a bound, not a measurement).

use assert_cmd::Command;
use std::time::Duration;

/// Runs `validate` on `bytes` saved as `t.yaml`; returns (exit code, stderr).
fn run(bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.yaml"), bytes).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "t.yaml"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fails_at(bytes: &[u8], at: &str, words: &[&str]) {
    let (code, err) = run(bytes);
    assert_eq!(code, 1, "{err}");
    assert!(err.len() < 2000, "message too long: {} bytes", err.len());
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("t.yaml:{at}: ")))
        .unwrap_or_else(|| panic!("no line at {at} in:\n{err}"));
    for w in words {
        assert!(line.contains(w), "{w:?} missing from {line:?}");
    }
}

/// Nine levels of nine-fold aliases: 387,420,489 "lol"s if expanded.
fn billion_laughs(prefix: &str, sep: &str) -> String {
    let mut s = String::from(prefix);
    s.push_str("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]");
    for i in 1..9u8 {
        let (p, c) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        s.push_str(&format!(
            "{sep}{c}: &{c} [{}]",
            vec![format!("*{p}"); 9].join(", ")
        ));
    }
    s
}

#[test]
fn alias_bomb_in_a_topology() {
    let doc = billion_laughs(
        "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name:\n    ",
        "\n    ",
    );
    fails_at(
        doc.as_bytes(),
        "5:5",
        &["expected a single text value", "lol"],
    );
}

#[test]
fn alias_bomb_without_a_kind_line() {
    // No top-level `kind:` line: the kind is read from the parsed header,
    // which skips unknown fields, so the budget is what stops the bomb.
    // The full parse skips unknown fields too (to report them all), so the
    // budget stops it as well: at the first unknown key whose value goes
    // over it, named as the unknown field it is.
    let doc = format!("{}}}\n", billion_laughs("{kind: Topology, ", ",\n "));
    fails_at(doc.as_bytes(), "6:2", &["unknown field `f`", "apiVersion"]);
}

#[test]
fn deep_nesting() {
    let n = 20_000;
    let flow = format!(
        "apiVersion: handover/v1\nkind: Topology\nagents: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    fails_at(flow.as_bytes(), "3:264", &["nesting deeper than 64"]);
    let map = format!(
        "apiVersion: handover/v1\nkind: Topology\nmetadata: {}1{}\n",
        "{a: ".repeat(n),
        "}".repeat(n)
    );
    fails_at(map.as_bytes(), "3:12", &["unknown field `a`"]);
    let block = format!(
        "apiVersion: handover/v1\nkind: Topology\nagents:\n{}x\n",
        "- ".repeat(n)
    );
    fails_at(block.as_bytes(), "4:3", &["expected a mapping"]);
}

#[test]
fn binary_bytes() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    fails_at(&bytes, "1:1", &["binary data"]);
    let no_nul: Vec<u8> = (1..=255u8).cycle().take(4096).collect();
    fails_at(&no_nul, "2:118", &["not UTF-8", "0x80"]);
}

#[test]
fn non_utf8_in_a_name() {
    fails_at(
        b"apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ms\xff1\n",
        "4:13",
        &["not UTF-8", "0xff"],
    );
}

#[test]
fn empty_file() {
    fails_at(b"", "1:1", &["empty", "apiVersion: handover/v1"]);
    fails_at(b"# only a comment\n\n", "1:1", &["empty"]);
}

#[test]
fn fifty_megabyte_scalar() {
    let mut doc =
        b"apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ".to_vec();
    doc.resize(doc.len() + 50_000_000, b'x');
    doc.push(b'\n');
    fails_at(
        &doc,
        "4:11",
        &["not a host name", "50000000 characters", "at most 253"],
    );
}

#[test]
fn file_over_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("t.yaml")).unwrap();
    f.set_len(handover::load::MAX_FILE_BYTES + 1).unwrap(); // sparse: cheap to make
    let out = Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "t.yaml"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("t.yaml: the file is 67,108,865 bytes; at most 67,108,864"),
        "{err}"
    );
}
