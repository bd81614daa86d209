//! `handover graph` end to end: snapshots of DOT, Mermaid and SVG for the
//! replace-gateway example, the desired-only picture, and bad input.

mod common;

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

/// `graph --format svg --engine graphviz` run with `path` as the child's
/// `PATH`: (exit code, stdout, stderr).
fn graphviz_svg(path: &std::ffi::OsStr) -> (i32, String, String) {
    let d = example("desired.yaml");
    let out = Command::cargo_bin("handover")
        .unwrap()
        .env("PATH", path)
        .args(["graph", "--desired", d.to_str().unwrap()])
        .args(["--format", "svg", "--engine", "graphviz"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs everywhere: Graphviz is hidden by giving handover a `PATH` of one
/// empty directory, whether or not this machine has it.
#[test]
fn graphviz_engine_without_dot_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = graphviz_svg(empty.path().as_os_str());
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("Graphviz"), "{err}");
}

/// Where Graphviz is installed, its SVG comes through whole. Graphviz writes
/// a DOCTYPE with a DTD, which roxmltree refuses unless told to allow it.
#[test]
fn graphviz_engine_with_dot_writes_svg() {
    let Some(_dot) = common::tool(&common::DOT, "graphviz_engine_with_dot_writes_svg") else {
        return;
    };
    let (code, out, err) = graphviz_svg(&std::env::var_os("PATH").unwrap_or_default());
    assert_eq!(code, 0, "{err}");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&out, options)
        .expect("Graphviz's SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    for server in ["ms1.contoso.local", "gw2.dmz.contoso.local"] {
        let short = server.split('.').next().unwrap();
        assert!(text.contains(short), "{short} not drawn: {text}");
    }
}
