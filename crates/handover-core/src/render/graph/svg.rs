//! The graph as a standalone SVG, laid out in pure Rust.
//!
//! Owns a small deterministic layered layout: management servers on the top
//! row, gateways in the middle, agent counts at the bottom. Within a row,
//! nodes are ordered by the mean position of their parents (one barycentre
//! pass, ties by label), which keeps the shallow DAG of an estate readable
//! without a general layout engine. Box widths come from label lengths
//! (7 px per character), so the output is byte-for-byte stable. Pure.

use super::{EdgeKind, Graph, NodeKind};
use std::fmt::Write;

const ROW: f64 = 120.0;
const HEIGHT: f64 = 32.0;
const GAP: f64 = 24.0;
const MARGIN: f64 = 20.0;
const CHAR: f64 = 7.0;

/// A node's box: centre x, top y, width.
#[derive(Clone, Copy, Debug)]
struct Place {
    x: f64,
    y: f64,
    w: f64,
}

/// Renders `g` as SVG 1.1.
pub fn render(g: &Graph) -> String {
    let places = layout(g);
    let width = places.iter().map(|p| p.x + p.w / 2.0).fold(0.0, f64::max) + MARGIN;
    let rows = g.nodes.iter().map(|n| n.rank).max().unwrap_or(0) as f64 + 1.0;
    let height = MARGIN * 2.0 + (rows - 1.0) * ROW + HEIGHT;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">",
        w = px(width.max(MARGIN * 2.0)),
        h = px(height)
    );
    out.push_str("<defs>\n");
    for (id, colour) in [
        ("a", "#555555"),
        ("f", "#999999"),
        ("o", "#d62728"),
        ("n", "#2ca02c"),
    ] {
        let _ = writeln!(
            out,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
        );
    }
    out.push_str("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    for e in &g.edges {
        let (a, b) = (places[e.from], places[e.to]);
        let (x1, y1, x2, y2) = if a.y < b.y {
            (a.x, a.y + HEIGHT, b.x, b.y)
        } else if a.y > b.y {
            (a.x, a.y, b.x, b.y + HEIGHT)
        } else {
            // Same row (a gateway reporting to a gateway): side to side.
            let s = if a.x < b.x { 1.0 } else { -1.0 };
            (
                a.x + s * a.w / 2.0,
                a.y + HEIGHT / 2.0,
                b.x - s * b.w / 2.0,
                b.y + HEIGHT / 2.0,
            )
        };
        let (stroke, marker, extra) = match e.kind {
            EdgeKind::Primary => ("#555555", "a", ""),
            EdgeKind::Failover => ("#999999", "f", " stroke-dasharray=\"2 3\""),
            EdgeKind::Old => (
                "#d62728",
                "o",
                " stroke-dasharray=\"6 4\" stroke-width=\"2\"",
            ),
            EdgeKind::New => ("#2ca02c", "n", " stroke-width=\"2\""),
        };
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"{extra} marker-end=\"url(#{marker})\"/>",
            px(x1),
            px(y1),
            px(x2),
            px(y2)
        );
        if !e.label.is_empty() {
            // Labels at 60 % of the way down, so two edges into one box do
            // not put their labels on top of each other.
            let (lx, ly) = (x1 + (x2 - x1) * 0.6, y1 + (y2 - y1) * 0.6);
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{stroke}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                px(lx),
                px(ly),
                escape(&e.label)
            );
        }
    }
    for (n, p) in g.nodes.iter().zip(&places) {
        let (fill, stroke, rx) = match n.kind {
            NodeKind::ManagementServer => ("#dbe9f6", "#1f77b4", 6.0),
            NodeKind::Gateway => ("#eeeeee", "#555555", 0.0),
            NodeKind::Agents | NodeKind::Rule => ("#ffffff", "#555555", HEIGHT / 2.0),
            NodeKind::Moving => ("#ffffff", "#2ca02c", HEIGHT / 2.0),
            NodeKind::More => ("#ffffff", "#ffffff", 0.0),
        };
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            px(p.x - p.w / 2.0),
            px(p.y),
            px(p.w),
            px(HEIGHT),
            px(rx)
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\">{}</text>",
            px(p.x),
            px(p.y + HEIGHT / 2.0),
            escape(&n.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Places every node: rows by rank, order by parents' mean position.
fn layout(g: &Graph) -> Vec<Place> {
    let n = g.nodes.len();
    let mut order_key = vec![0.0f64; n];
    let mut x = vec![0.0f64; n];
    let w: Vec<f64> = g
        .nodes
        .iter()
        .map(|node| node.label.chars().count() as f64 * CHAR + 20.0)
        .collect();
    let max_rank = g.nodes.iter().map(|n| n.rank).max().unwrap_or(0);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); max_rank as usize + 1];
    for (i, node) in g.nodes.iter().enumerate() {
        rows[node.rank as usize].push(i);
    }
    for (r, row) in rows.iter_mut().enumerate() {
        if r > 0 {
            for &i in row.iter() {
                let parents: Vec<f64> = g
                    .edges
                    .iter()
                    .filter(|e| e.to == i && g.nodes[e.from].rank < r as u8)
                    .filter(|e| e.kind != EdgeKind::Failover)
                    .map(|e| order_key[e.from])
                    .collect();
                order_key[i] = if parents.is_empty() {
                    f64::MAX
                } else {
                    parents.iter().sum::<f64>() / parents.len() as f64
                };
            }
            row.sort_by(|&a, &b| {
                order_key[a]
                    .total_cmp(&order_key[b])
                    .then_with(|| g.nodes[a].label.cmp(&g.nodes[b].label))
                    .then(a.cmp(&b))
            });
        }
        let mut cursor = MARGIN;
        for (k, &i) in row.iter().enumerate() {
            x[i] = cursor + w[i] / 2.0;
            cursor += w[i] + GAP;
            order_key[i] = k as f64;
        }
    }
    // Centre each row on the widest.
    let widths: Vec<f64> = rows
        .iter()
        .map(|row| row.iter().map(|&i| w[i] + GAP).sum::<f64>() - GAP)
        .collect();
    let widest = widths.iter().copied().fold(0.0, f64::max);
    for (row, rw) in rows.iter().zip(&widths) {
        let shift = (widest - rw) / 2.0;
        for &i in row {
            x[i] += shift;
        }
    }
    (0..n)
        .map(|i| Place {
            x: x[i],
            y: MARGIN + g.nodes[i].rank as f64 * ROW,
            w: w[i],
        })
        .collect()
}

/// A coordinate with at most one decimal, stable across platforms.
fn px(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Escapes XML text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
