//! Tests of the pictures at scale: the view chosen by size, and the
//! layout's promises (no edge through a box it does not join, no two texts
//! on top of each other, no wider than a page) measured on the geometry.

use super::layout::{self, Layout, Rect, text_width};
use super::*;
use crate::synth::{Spec, generate};

/// 100 gateways under 20 management servers, 20,000 agents, of which
/// those on gw001–gw050 move (30 %) to gw051–gw100: 50 move groups.
pub(crate) fn estate_100_gateways_50_groups() -> crate::synth::Estate {
    let mut e = generate(&Spec {
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
    e
}

/// What is wrong with `l` as a picture of `g`: texts that overlap, edge
/// segments through a box that is not one of the edge's own, a picture
/// wider than 1,280 px.
fn problems(g: &Graph, l: &Layout) -> Vec<String> {
    let mut out = Vec::new();
    let mut texts: Vec<(String, Rect)> = l
        .boxes
        .iter()
        .map(|b| {
            let w = text_width(&b.text);
            let r = Rect {
                x: b.rect.x + (b.rect.w - w) / 2.0,
                y: b.rect.y + b.rect.h / 2.0 - 7.0,
                w,
                h: 14.0,
            };
            (b.text.clone(), r)
        })
        .collect();
    texts.extend(l.labels.iter().map(|lb| (lb.text.clone(), lb.rect)));
    for (i, (a, ra)) in texts.iter().enumerate() {
        for (b, rb) in &texts[i + 1..] {
            if ra.overlaps(rb) {
                out.push(format!(
                    "texts overlap: {a:?} at {ra:?} and {b:?} at {rb:?}"
                ));
            }
        }
    }
    for lb in l.labels.iter() {
        for b in &l.boxes {
            if lb.rect.overlaps(&b.rect) {
                out.push(format!("label {:?} on the box of {:?}", lb.text, b.text));
            }
        }
    }
    for r in &l.routes {
        let e = &g.edges[r.edge];
        for seg in r.points.windows(2) {
            for b in l
                .boxes
                .iter()
                .filter(|b| b.node != e.from && b.node != e.to)
            {
                if b.rect.crossed_by(seg[0], seg[1]) {
                    out.push(format!(
                        "edge {} → {} crosses the box of {}",
                        g.nodes[e.from].label, g.nodes[e.to].label, b.text
                    ));
                }
            }
        }
    }
    if l.width > 1_280.0 {
        out.push(format!("{} px wide", l.width));
    }
    out
}

#[test]
fn a_hundred_gateways_and_fifty_move_groups_fit_a_page_as_flows() {
    let e = estate_100_gateways_50_groups();
    let p = crate::plan::plan(&e.desired, &e.observed);
    let g = change(&p, &e.observed, &Options::default());
    assert_eq!(g.view, View::Flows, "chosen by size");
    let l = layout::layout(&g);
    assert_eq!(problems(&g, &l), Vec::<String>::new());
    assert!(l.width <= layout::FLOW_WIDTH, "{}", l.width);
    // 30 rows, largest first, and the other 20 groups summed up.
    assert_eq!(g.edges.len(), 30);
    assert!(g.edges.windows(2).all(|w| w[0].weight >= w[1].weight));
    let more: Vec<&str> = g
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::More)
        .map(|n| n.label.as_str())
        .collect();
    assert_eq!(more.len(), 1);
    assert!(more[0].starts_with("and 20 more moves ("), "{more:?}");
    assert!(g.notes[0].starts_with("20 management servers, 100 gateways, 20,000 agents: "));
    assert!(g.notes[0].contains(" in 50 groups"), "{:?}", g.notes);
    assert!(
        g.notes
            .contains(&"names shortened: .contoso.local left out".to_string())
    );
    // The per-server picture of the same estate is what did not fit.
    let servers = change(
        &p,
        &e.observed,
        &Options {
            view: Choice::Force(View::Servers),
            ..Options::default()
        },
    );
    assert!(layout::layout(&servers).width > 1_280.0);
}

#[test]
fn a_small_estate_keeps_the_per_server_view() {
    let e = generate(&Spec {
        management_servers: 2,
        gateways: 4,
        agents: 1_200,
        moving: 0.5,
        seed: 7,
    });
    let p = crate::plan::plan(&e.desired, &e.observed);
    let g = change(&p, &e.observed, &Options::default());
    assert_eq!(g.view, View::Servers);
    let l = layout::layout(&g);
    assert_eq!(problems(&g, &l), Vec::<String>::new());
}

#[test]
fn the_desired_topology_of_a_large_estate_lists_agents_per_primary() {
    let e = estate_100_gateways_50_groups();
    let g = desired(&e.desired, &Options::default());
    assert_eq!(g.view, View::Flows);
    assert!(g.notes[0].ends_with("nothing moves; agents per primary, largest first"));
    assert_eq!(problems(&g, &layout::layout(&g)), Vec::<String>::new());
}

/// A management server that is the primary of agents directly, beside
/// three gateways, and a gateway reporting to another across a third.
fn crossing_graph() -> Graph {
    let node = |kind, label: &str, rank| Node {
        kind,
        label: label.into(),
        rank,
    };
    let edge = |from, to, kind, label: &str| Edge {
        from,
        to,
        kind,
        label: label.into(),
        weight: 1,
    };
    Graph {
        nodes: vec![
            node(NodeKind::ManagementServer, "ms1", 0),
            node(NodeKind::Gateway, "gw1.dmz", 1),
            node(NodeKind::Gateway, "gw2.dmz", 1),
            node(NodeKind::Gateway, "gw3.dmz", 1),
            node(NodeKind::Agents, "40 agents", 2),
            node(NodeKind::Agents, "10 agents", 2),
        ],
        edges: vec![
            edge(0, 1, EdgeKind::Primary, ""),
            edge(0, 2, EdgeKind::Primary, ""),
            edge(1, 3, EdgeKind::Primary, ""),
            edge(0, 4, EdgeKind::Primary, ""),
            edge(2, 5, EdgeKind::Primary, ""),
            edge(1, 5, EdgeKind::Failover, "10 failovers"),
            edge(3, 5, EdgeKind::Failover, "10 failovers"),
            edge(0, 5, EdgeKind::Failover, "10 failovers"),
        ],
        ..Graph::default()
    }
}

#[test]
fn edges_pass_around_boxes_they_do_not_join() {
    let g = crossing_graph();
    let l = layout::layout(&g);
    let p = problems(&g, &l);
    assert!(
        p.iter().all(|p| !p.contains("crosses")),
        "{p:#?}\n{}",
        svg::draw(&g, &l)
    );
}

#[test]
fn failover_labels_do_not_pile_up() {
    let g = crossing_graph();
    let l = layout::layout(&g);
    let p = problems(&g, &l);
    assert!(p.iter().all(|p| !p.contains("overlap")), "{p:#?}");
    // Each count is on the picture: on its edge, or in the note.
    let text: Vec<&str> = l.labels.iter().map(|l| l.text.as_str()).collect();
    let on_edges = text.iter().filter(|t| **t == "10 failovers").count();
    let in_note = text
        .iter()
        .map(|t| t.matches("10 failovers").count())
        .sum::<usize>()
        - on_edges;
    assert_eq!(on_edges + in_note, 3, "{text:?}");
    // A real estate with failovers drawn.
    let e = generate(&Spec {
        management_servers: 2,
        gateways: 3,
        agents: 900,
        moving: 0.3,
        seed: 7,
    });
    let p = crate::plan::plan(&e.desired, &e.observed);
    let opts = Options {
        failovers: true,
        view: Choice::Force(View::Servers),
        ..Options::default()
    };
    let g = change(&p, &e.observed, &opts);
    let l = layout::layout(&g);
    assert_eq!(
        problems(&g, &l),
        Vec::<String>::new(),
        "{}",
        svg::draw(&g, &l)
    );
}

#[test]
fn shortened_names_are_stated_on_the_picture() {
    let e = generate(&Spec::fleet(3_000));
    let p = crate::plan::plan(&e.desired, &e.observed);
    for view in [View::Servers, View::Flows] {
        let opts = Options {
            view: Choice::Force(view),
            ..Options::default()
        };
        let g = change(&p, &e.observed, &opts);
        assert!(g.nodes.iter().any(|n| n.label == "gw001.dmz"));
        let s = svg::render(&g);
        assert!(
            s.contains(">names shortened: .contoso.local left out</text>"),
            "{s}"
        );
        assert!(dot::render(&g).contains("names shortened: .contoso.local left out"));
        assert!(mermaid::render(&g).contains("names shortened: .contoso.local left out"));
    }
}

#[test]
fn a_name_too_long_for_its_column_is_cut_and_kept_in_a_tooltip() {
    let mut g = crossing_graph();
    g.view = View::Flows;
    g.nodes[0].label = "a-very-long-management-server-name-that-goes-on.and.on.example".repeat(2);
    g.edges.retain(|e| e.from == 0);
    let l = layout::layout(&g);
    assert!(l.width <= layout::FLOW_WIDTH);
    assert!(l.boxes.iter().any(|b| b.text.ends_with('…')));
    assert!(svg::draw(&g, &l).contains("<title>a-very-long"));
}
