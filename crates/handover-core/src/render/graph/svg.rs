//! The graph as a standalone SVG.
//!
//! Owns SVG syntax only: it draws the geometry [`layout`](super::layout)
//! computed (boxes, edge routes as polylines, labels, notes), so the
//! output is byte-for-byte stable. In the flow view a name cut with "…"
//! carries its whole text in a `<title>` (a tooltip). Pure. Must not place
//! anything itself.

use super::layout::{self, FONT, Layout};
use super::{EdgeKind, Graph, NodeKind, View};
use std::fmt::Write;

/// Renders `g` as SVG 1.1.
pub fn render(g: &Graph) -> String {
    draw(g, &layout::layout(g))
}

/// Draws `g` at the places `l` gives.
pub fn draw(g: &Graph, l: &Layout) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"{}\">",
        px(FONT),
        w = px(l.width),
        h = px(l.height)
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
    for r in &l.routes {
        let e = &g.edges[r.edge];
        let (stroke, marker, dash) = match e.kind {
            EdgeKind::Primary => ("#555555", "a", ""),
            EdgeKind::Failover => ("#999999", "f", " stroke-dasharray=\"2 3\""),
            EdgeKind::Old => ("#d62728", "o", " stroke-dasharray=\"6 4\""),
            EdgeKind::New => ("#2ca02c", "n", ""),
        };
        let points: Vec<String> = r
            .points
            .iter()
            .map(|(x, y)| format!("{},{}", px(*x), px(*y)))
            .collect();
        // A wide band's arrowhead would be as wide as the band: the flow
        // view draws its bands without one, they all point right.
        let marker = if g.view == View::Flows {
            String::new()
        } else {
            format!(" marker-end=\"url(#{marker})\"")
        };
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\"{dash}{marker}/>",
            points.join(" "),
            px(r.width),
        );
    }
    for b in &l.boxes {
        let n = &g.nodes[b.node];
        let (fill, stroke, rx) = match n.kind {
            NodeKind::ManagementServer => ("#dbe9f6", "#1f77b4", 6.0),
            NodeKind::Gateway => ("#eeeeee", "#555555", 0.0),
            NodeKind::Agents | NodeKind::Rule => ("#ffffff", "#555555", b.rect.h / 2.0),
            NodeKind::Moving => ("#ffffff", "#2ca02c", b.rect.h / 2.0),
            NodeKind::More => ("#ffffff", "#ffffff", 0.0),
        };
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            px(b.rect.x),
            px(b.rect.y),
            px(b.rect.w),
            px(b.rect.h),
            px(rx)
        );
        let title = if b.text != n.label {
            format!("<title>{}</title>", escape(&n.label))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\">{title}{}</text>",
            px(b.rect.x + b.rect.w / 2.0),
            px(b.rect.y + b.rect.h / 2.0),
            escape(&b.text)
        );
    }
    for lb in &l.labels {
        let fill = match lb.edge.map(|k| g.edges[k].kind) {
            Some(EdgeKind::Old) => "#d62728",
            Some(EdgeKind::New) => "#2ca02c",
            Some(EdgeKind::Failover) => "#777777",
            Some(EdgeKind::Primary) => "#555555",
            None => "#333333",
        };
        let (x, anchor) = if lb.centred {
            (lb.rect.x + lb.rect.w / 2.0, "middle")
        } else {
            (lb.rect.x, "start")
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" dominant-baseline=\"central\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
            px(x),
            px(lb.rect.y + lb.rect.h / 2.0),
            escape(&lb.text)
        );
    }
    out.push_str("</svg>\n");
    out
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
