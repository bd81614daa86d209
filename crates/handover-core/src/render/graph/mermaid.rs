//! The graph as a Mermaid flowchart, for GitHub comments and Markdown.
//!
//! Owns Mermaid syntax only: node ids are `n0`, `n1`, … and every label is
//! quoted, so host names and counts cannot break the chart. The flow view
//! runs left to right; the graph's notes are boxes of their own at the
//! top (class `note`). Pure.

use super::{EdgeKind, Graph, NodeKind, View};
use std::fmt::Write;

/// Renders `g` as a `flowchart TD` (without the ```` ```mermaid ```` fence).
pub fn render(g: &Graph) -> String {
    let mut out = String::from(if g.view == View::Flows {
        "flowchart LR\n"
    } else {
        "flowchart TD\n"
    });
    for (k, note) in g.notes.iter().enumerate() {
        let _ = writeln!(
            out,
            "  n{}[\"{}\"]:::note",
            g.nodes.len() + k,
            super::safe(note)
        );
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let label = super::safe(&n.label);
        let _ = match n.kind {
            NodeKind::ManagementServer => writeln!(out, "  n{i}[[\"{label}\"]]"),
            NodeKind::Gateway => writeln!(out, "  n{i}[\"{label}\"]"),
            NodeKind::Agents | NodeKind::Rule | NodeKind::More => {
                writeln!(out, "  n{i}([\"{label}\"])")
            }
            NodeKind::Moving => writeln!(out, "  n{i}([\"{label}\"]):::moving"),
        };
    }
    // Edge indices per style, one `linkStyle` line each.
    let mut styles: [(Vec<String>, &str); 3] = [
        (Vec::new(), "stroke:#d62728,stroke-width:2px"),
        (Vec::new(), "stroke:#2ca02c,stroke-width:2px"),
        (Vec::new(), "stroke:#999999"),
    ];
    for (k, e) in g.edges.iter().enumerate() {
        let arrow = match e.kind {
            EdgeKind::Primary => "-->",
            EdgeKind::Failover | EdgeKind::Old => "-.->",
            EdgeKind::New => "==>",
        };
        let label = super::safe(&e.label);
        let _ = if label.is_empty() {
            writeln!(out, "  n{} {arrow} n{}", e.from, e.to)
        } else {
            writeln!(out, "  n{} {arrow}|\"{label}\"| n{}", e.from, e.to)
        };
        let style = match e.kind {
            EdgeKind::Old => 0,
            EdgeKind::New => 1,
            EdgeKind::Failover => 2,
            EdgeKind::Primary => continue,
        };
        styles[style].0.push(k.to_string());
    }
    for (ks, s) in styles {
        if !ks.is_empty() {
            let _ = writeln!(out, "  linkStyle {} {s}", ks.join(","));
        }
    }
    if g.nodes.iter().any(|n| n.kind == NodeKind::Moving) {
        out.push_str("  classDef moving stroke:#2ca02c,stroke-width:2px\n");
    }
    if !g.notes.is_empty() {
        out.push_str("  classDef note fill:#ffffff,stroke:#ffffff,text-align:left\n");
    }
    out
}
