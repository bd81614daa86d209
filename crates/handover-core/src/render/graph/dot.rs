//! The graph in Graphviz DOT, for `dot -Tsvg` or any Graphviz tool.
//!
//! Owns DOT syntax only: node ids `n0`, `n1`, …, quoted labels, one rank
//! per row (management servers, gateways, agent counts; in the flow view,
//! old parents left and new parents right, pen widths by count), and the
//! graph's notes as its label. Pure.

use super::{EdgeKind, Graph, NodeKind, View};
use std::fmt::Write;

/// Renders `g` as a `digraph`.
pub fn render(g: &Graph) -> String {
    let dir = if g.view == View::Flows { "LR" } else { "TB" };
    let mut out = format!(
        "digraph handover {{\n  rankdir={dir};\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    if !g.notes.is_empty() {
        let _ = writeln!(
            out,
            "  labelloc=t; labeljust=l; fontname=\"Helvetica\"; fontsize=11; label=\"{}\\l\";",
            quote(&g.notes.join("\n")).replace('\n', "\\l")
        );
    }
    let heaviest = g.edges.iter().map(|e| e.weight).max().unwrap_or(1).max(1) as f64;
    for (i, n) in g.nodes.iter().enumerate() {
        let attrs = match n.kind {
            NodeKind::ManagementServer => {
                "shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9f6\""
            }
            NodeKind::Gateway => "shape=box, style=filled, fillcolor=\"#eeeeee\"",
            NodeKind::Agents | NodeKind::Rule => "shape=ellipse",
            NodeKind::Moving => "shape=ellipse, color=\"#2ca02c\", penwidth=2",
            NodeKind::More => "shape=plaintext",
        };
        let _ = writeln!(out, "  n{i} [label=\"{}\", {attrs}];", quote(&n.label));
    }
    for e in &g.edges {
        let style = match e.kind {
            EdgeKind::Primary => "",
            EdgeKind::Failover => ", style=dotted, color=\"#999999\"",
            EdgeKind::Old => ", style=dashed, color=\"#d62728\", fontcolor=\"#d62728\", penwidth=2",
            EdgeKind::New => ", color=\"#2ca02c\", fontcolor=\"#2ca02c\", penwidth=2",
        };
        let pen = if g.view == View::Flows {
            format!(
                ", penwidth={:.1}",
                1.0 + 9.0 * (e.weight as f64 / heaviest).sqrt()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  n{} -> n{} [label=\"{}\"{style}{pen}];",
            e.from,
            e.to,
            quote(&e.label)
        );
    }
    for rank in 0..=2u8 {
        let ids: Vec<String> = g
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.rank == rank)
            .map(|(i, _)| format!("n{i}"))
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(out, "  {{ rank=same; {}; }}", ids.join("; "));
        }
    }
    out.push_str("}\n");
    out
}

/// Escapes a DOT string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
