//! `handover graph` end to end: snapshots of DOT, Mermaid and SVG for the
//! replace-gateway example, the desired-only picture, and bad input.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies/replace-gateway")
        .join(file)
}

fn graph(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .arg("graph")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn change(format: &str) -> String {
    let d = example("desired.yaml");
    let o = example("observed.yaml");
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--observed",
        o.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    out
}

#[test]
fn dot() {
    insta::assert_snapshot!("replace-gateway.dot", change("dot"));
}

#[test]
fn mermaid() {
    insta::assert_snapshot!("replace-gateway.mermaid", change("mermaid"));
}

#[test]
fn svg_is_xml_and_stable() {
    let svg = change("svg");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    insta::assert_snapshot!("replace-gateway.svg", svg);
}

#[test]
fn desired_only_with_failovers() {
    let d = example("desired.yaml");
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--format",
        "mermaid",
        "--failovers",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("replace-gateway.desired.mermaid", out);
}

#[test]
fn bad_input_exits_1_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: [oops\n",
    )
    .unwrap();
    let (code, out, err) = graph(&["--desired", bad.to_str().unwrap(), "--format", "dot"]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("bad.yaml:"), "{err}");
}

#[test]
fn missing_observed_file_exits_1() {
    let d = example("desired.yaml");
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--observed",
        "/nonexistent/observed.yaml",
        "--format",
        "svg",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("observed.yaml"), "{err}");
}

#[test]
fn usage_errors_exit_1() {
    let d = example("desired.yaml");
    let (code, _, err) = graph(&["--desired", d.to_str().unwrap(), "--format", "png"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--format",
        "dot",
        "--engine",
        "graphviz",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--format svg"), "{err}");
}

#[test]
fn graphviz_engine_without_dot_says_so() {
    // Only meaningful where Graphviz is absent; where it is present, the
    // SVG it writes must parse.
    let d = example("desired.yaml");
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--format",
        "svg",
        "--engine",
        "graphviz",
    ]);
    let has_dot = std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_dot {
        assert_eq!(code, 0, "{err}");
        roxmltree::Document::parse(&out).expect("Graphviz SVG parses");
    } else {
        assert_eq!(code, 1);
        assert!(err.contains("Graphviz"), "{err}");
    }
}
