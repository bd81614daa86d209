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

/// The test provider program (`tools/test-provider`): the simulator behind
/// the exec protocol, in a separate process.
const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

#[test]
fn a_target_is_drawn_like_the_same_estate_from_a_file_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let estate = dir.path().join("estate.yaml");
    std::fs::copy(example("observed.yaml"), &estate).unwrap();
    let start = handover::load::observed(&estate).unwrap();
    let state = dir.path().join("provider.json");
    std::fs::write(
        &state,
        serde_json::to_vec(&serde_json::json!({ "observed": start })).unwrap(),
    )
    .unwrap();
    let estate_bytes = std::fs::read(&estate).unwrap();
    let d = example("desired.yaml");
    let from_file = change("dot");
    let sim = format!("sim:{}", estate.display());
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--target",
        &sim,
        "--format",
        "dot",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, from_file);
    let exec = format!("exec:{PROVIDER}");
    let state_arg = format!("--state={}", state.display());
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--target",
        &exec,
        "--target-arg",
        &state_arg,
        "--format",
        "dot",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, from_file);
    // Read-only: the sim: file untouched and nothing beside it; the
    // provider asked to observe once and nothing applied.
    assert_eq!(std::fs::read(&estate).unwrap(), estate_bytes);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["estate.yaml", "provider.json", "provider.json.lock"]
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(record["calls"], serde_json::json!(["observe"]), "{record}");
    assert!(
        record["applied"].as_array().is_none_or(|a| a.is_empty()),
        "{record}"
    );
    let now: handover::model::Observed =
        serde_json::from_value(record["observed"].clone()).unwrap();
    assert_eq!(now, start);
}

#[test]
fn observed_and_target_are_exclusive_and_a_failed_observe_exits_1() {
    let d = example("desired.yaml");
    let o = example("observed.yaml");
    let sim = format!("sim:{}", o.display());
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--observed",
        o.to_str().unwrap(),
        "--target",
        &sim,
        "--format",
        "dot",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("--observed") && err.contains("--target"),
        "{err}"
    );
    let (code, out, err) = graph(&[
        "--desired",
        d.to_str().unwrap(),
        "--target",
        "exec:/nonexistent/scom-provider",
        "--format",
        "svg",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("/nonexistent/scom-provider"), "{err}");
}

/// A generated estate the per-server picture cannot show in a page: 100
/// gateways under 20 management servers, 20,000 agents, of which those on
/// gw001–gw050 move to gw051–gw100 (50 move groups). Written to `dir`:
/// (desired, observed).
fn large_estate(dir: &Path) -> (PathBuf, PathBuf) {
    let mut e = handover::synth::generate(&handover::synth::Spec {
        management_servers: 20,
        gateways: 100,
        agents: 20_000,
        moving: 0.3,
        seed: 7,
    });
    for (d, o) in e.desired.agents.iter_mut().zip(&e.observed.agents) {
        let n: usize = o.parents.primary.as_str()[2..5].parse().unwrap();
        if n > 50 {
            d.parents = o.parents.clone();
        }
    }
    let (d, o) = (dir.join("desired.yaml"), dir.join("observed.yaml"));
    std::fs::write(&d, handover::synth::desired_yaml(&e.desired)).unwrap();
    std::fs::write(&o, handover::synth::observed_yaml(&e.observed)).unwrap();
    (d, o)
}

#[test]
fn a_large_estate_is_drawn_as_flows_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (d, o) = large_estate(dir.path());
    let base = [
        "--desired",
        d.to_str().unwrap(),
        "--observed",
        o.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let (code, out, err) = graph(&[&base[..], extra].concat());
        assert_eq!(code, 0, "{err}");
        out
    };
    let svg = run(&["--format", "svg"]);
    roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    insta::assert_snapshot!("large-estate.flows.svg", svg);
    insta::assert_snapshot!(
        "large-estate.flows.mermaid",
        run(&["--format", "mermaid", "--max-moves", "5"])
    );
    assert_eq!(run(&["--format", "svg", "--view", "flows"]), svg);
    // Forced, the per-server picture is what does not fit a page.
    let servers = run(&["--format", "svg", "--view", "servers"]);
    let doc = roxmltree::Document::parse(&servers).unwrap();
    let width: f64 = doc
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    assert!(width > 1_280.0, "{width}");
    // And a small estate keeps it unless told otherwise.
    let small = change("svg");
    assert!(small.contains(">gw3.dmz</text>"), "{small}");
    let (code, flows, err) = graph(&[
        "--desired",
        example("desired.yaml").to_str().unwrap(),
        "--observed",
        example("observed.yaml").to_str().unwrap(),
        "--format",
        "svg",
        "--view",
        "flows",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(flows.contains("moving in 1 group"), "{flows}");
}
