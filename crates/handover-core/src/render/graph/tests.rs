//! Unit tests of the graph model and its renderers.

use super::*;
use crate::synth::{Spec, generate};
use std::path::Path;

fn example(name: &str) -> (Topology, Observed) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("examples/topologies")
        .join(name);
    let d = crate::load::topology(&[dir.join("desired.yaml")]).unwrap();
    let o = crate::load::observed(&dir.join("observed.yaml")).unwrap();
    (d, o)
}

/// Options forcing the per-server view, whatever the estate's size.
fn servers_view() -> Options {
    Options {
        view: Choice::Force(View::Servers),
        ..Options::default()
    }
}

fn labels(g: &Graph, kind: NodeKind) -> Vec<&str> {
    g.nodes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.label.as_str())
        .collect()
}

#[test]
fn replace_gateway_counts_moves_and_marks_the_retired_gateway() {
    let (d, o) = example("replace-gateway");
    let p = crate::plan::plan(&d, &o);
    let g = change(&p, &o, &Options::default());
    assert_eq!(g.suffix, "contoso.local");
    assert_eq!(labels(&g, NodeKind::ManagementServer), ["ms1", "ms2"]);
    assert!(labels(&g, NodeKind::Gateway).contains(&"gw1.dmz (retired)"));
    let moving = labels(&g, NodeKind::Moving);
    assert_eq!(moving, ["14 agents moving: gw1.dmz to gw2.dmz"]);
    let m = g
        .nodes
        .iter()
        .position(|n| n.kind == NodeKind::Moving)
        .unwrap();
    let into: Vec<(EdgeKind, &str)> = g
        .edges
        .iter()
        .filter(|e| e.to == m)
        .map(|e| (e.kind, e.label.as_str()))
        .collect();
    assert_eq!(into, [(EdgeKind::Old, "-14"), (EdgeKind::New, "+14")]);
    // The two sql agents stay on gw3; no agent is drawn by name.
    assert!(labels(&g, NodeKind::Agents).contains(&"2 agents"));
    assert!(g.nodes.iter().all(|n| !n.label.contains("sql")));
}

#[test]
fn members_done_leave_their_move_box_for_their_new_primary() {
    let (d, o) = example("replace-gateway");
    let p = crate::plan::plan(&d, &o);
    // Five of the fourteen web agents have moved.
    let done: std::collections::BTreeSet<String> = (1..=5)
        .map(|i| format!("web{i:02}.dmz.contoso.local"))
        .collect();
    let g = change_done(
        &p,
        &o,
        &|n: &Name| done.contains(&n.to_lowercase()),
        &Options::default(),
    );
    assert_eq!(
        labels(&g, NodeKind::Moving),
        ["9 agents moving: gw1.dmz to gw2.dmz"]
    );
    assert!(
        labels(&g, NodeKind::Agents).contains(&"5 agents"),
        "{:?}",
        labels(&g, NodeKind::Agents)
    );
    // All done: no move box is left.
    let g = change_done(&p, &o, &|_| true, &Options::default());
    assert!(labels(&g, NodeKind::Moving).is_empty());
}

#[test]
fn changes_only_leaves_out_untouched_parents() {
    let (d, o) = example("replace-gateway");
    let p = crate::plan::plan(&d, &o);
    let opts = Options {
        changes_only: true,
        ..Options::default()
    };
    let g = change(&p, &o, &opts);
    // Only planned members: the two sql agents whose failover changes and
    // the 14 moving; no management server, since no gateway moves.
    assert_eq!(labels(&g, NodeKind::Agents), ["2 agents"], "{g:?}");
    assert_eq!(labels(&g, NodeKind::Moving).len(), 1);
    assert!(labels(&g, NodeKind::ManagementServer).is_empty());
}

#[test]
fn desired_counts_explicit_agents_and_draws_rules() {
    let (d, _) = example("replace-gateway");
    let g = desired(&d, &Options::default());
    assert_eq!(labels(&g, NodeKind::Gateway), ["gw2.dmz", "gw3.dmz"]);
    assert_eq!(labels(&g, NodeKind::Agents), ["2 agents"]);
    assert_eq!(
        labels(&g, NodeKind::Rule),
        ["agents matching *.dmz.contoso.local"]
    );
    assert!(g.edges.iter().all(|e| e.kind == EdgeKind::Primary));
}

#[test]
fn failovers_are_drawn_only_when_asked() {
    let (d, _) = example("replace-gateway");
    let opts = Options {
        failovers: true,
        ..Options::default()
    };
    let g = desired(&d, &opts);
    let f: Vec<&Edge> = g
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Failover)
        .collect();
    // gw2 -> ms2, gw3 -> ms1 and the two sql agents' failover gw2.
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().any(|e| e.label == "2 failovers"));
}

#[test]
fn a_hundred_thousand_agents_make_a_small_graph() {
    let e = generate(&Spec::fleet(100_000));
    let p = crate::plan::plan(&e.desired, &e.observed);
    let g = change(&p, &e.observed, &servers_view());
    let gateways = e.observed.gateways.len();
    let servers = e.observed.management_servers.len();
    // Servers, gateways, one count per gateway, at most 30 moves + "more".
    assert!(
        g.nodes.len() <= servers + 2 * gateways + 31,
        "{} nodes",
        g.nodes.len()
    );
    let counted: u64 = g
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Agents | NodeKind::Moving))
        .map(|n| {
            n.label
                .split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    let more = g.nodes.iter().find(|n| n.kind == NodeKind::More).unwrap();
    let rest: u64 = more
        .label
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert_eq!(counted + rest, 100_000, "every agent counted once");
    let d = desired(&e.desired, &servers_view());
    assert!(
        d.nodes.len() <= servers + 2 * gateways,
        "{} nodes",
        d.nodes.len()
    );
}

#[test]
fn moves_are_capped_largest_first() {
    let e = generate(&Spec::fleet(20_000));
    let p = crate::plan::plan(&e.desired, &e.observed);
    let opts = Options {
        max_moves: 3,
        ..servers_view()
    };
    let g = change(&p, &e.observed, &opts);
    let sizes: Vec<u64> = g
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Moving)
        .map(|n| {
            n.label
                .split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(sizes.len(), 3);
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert!(labels(&g, NodeKind::More)[0].starts_with("and "));
}

#[test]
fn mermaid_ids_are_safe_and_labels_quoted() {
    let e = generate(&Spec::fleet(5_000));
    let p = crate::plan::plan(&e.desired, &e.observed);
    let opts = Options {
        failovers: true,
        ..Options::default()
    };
    let g = change(&p, &e.observed, &opts);
    let m = mermaid::render(&g);
    assert!(m.starts_with("flowchart LR\n"), "the flow view, by size");
    for line in m.lines().skip(1) {
        let line = line.trim();
        if line.starts_with("linkStyle") || line.starts_with("classDef") {
            continue;
        }
        let id: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            id.starts_with('n') && id[1..].parse::<usize>().is_ok(),
            "{line}"
        );
        // Exactly one quoted label per node line, at most one per edge.
        let quotes = line.matches('"').count();
        assert!(quotes == 2 || quotes == 0, "{line}");
    }
}

#[test]
fn labels_never_hold_characters_that_break_mermaid() {
    assert_eq!(safe("a\"b[c]|d<e>"), "a'b'c''d'e'");
    let g = Graph {
        nodes: vec![Node {
            kind: NodeKind::Rule,
            label: "agents matching web[0-9]\"".into(),
            rank: 2,
        }],
        edges: vec![],
        ..Graph::default()
    };
    let m = mermaid::render(&g);
    assert_eq!(m, "flowchart TD\n  n0([\"agents matching web'0-9''\"])\n");
}

#[test]
fn renderers_are_deterministic_and_svg_is_xml() {
    let (d, o) = example("replace-gateway");
    let p = crate::plan::plan(&d, &o);
    let g = change(&p, &o, &Options::default());
    let s = svg::render(&g);
    assert_eq!(s, svg::render(&change(&p, &o, &Options::default())));
    let doc = roxmltree::Document::parse(&s).expect("the SVG parses as XML");
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert_eq!(
        rects,
        g.nodes.len() + 1,
        "a box per node and the background"
    );
    let dot = dot::render(&g);
    assert!(dot.starts_with("digraph handover {") && dot.ends_with("}\n"));
    assert_eq!(dot.matches(" -> ").count(), g.edges.len());
}
