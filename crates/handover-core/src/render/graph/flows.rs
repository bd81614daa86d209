//! The flow view: the estate's change as rows of old parent → new parent,
//! for estates whose per-server picture would not fit a page.
//!
//! Owns turning the counts the per-server builder gathered ([`Tally`]) into
//! a [`Graph`] of one edge per row: each move group (agents or gateways
//! moving from one primary to another) with its count, largest first, at
//! most `max_moves` rows and one "and N more" node for the rest; when
//! nothing moves, the agents per primary instead. Its first note sums the
//! estate up. Pure. Must not decide anything the per-server builder did
//! not (it only regroups its counts).

use super::{Edge, EdgeKind, Graph, Node, NodeKind, View};
use crate::diag::{count, thousands};
use std::collections::BTreeMap;

/// Counts gathered while building the per-server picture, by node index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    /// Agents staying per primary.
    pub stay: BTreeMap<usize, u64>,
    /// Agents moving per (old primary, new primary).
    pub moves: BTreeMap<(usize, usize), u64>,
    /// Gateways moving: (old primary, new primary, the gateway).
    pub gateway_moves: Vec<(usize, usize, usize)>,
}

/// One row before it becomes nodes and an edge.
struct Row {
    from: usize,
    to: Option<usize>,
    to_label: String,
    to_kind: NodeKind,
    n: u64,
    label: String,
    moving: bool,
}

/// The flow view of `servers` (the per-server picture `tally` was
/// gathered for), at most `max_moves` rows (at least one).
pub(crate) fn build(servers: &Graph, tally: &Tally, max_moves: usize) -> Graph {
    let label = |i: usize| servers.nodes[i].label.clone();
    let mut rows: Vec<Row> = Vec::new();
    for (&(old, new), &n) in &tally.moves {
        rows.push(Row {
            from: old,
            to: Some(new),
            to_label: label(new),
            to_kind: servers.nodes[new].kind,
            n,
            label: count(n, "agent", "agents"),
            moving: true,
        });
    }
    let mut gw: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for &(old, new, _) in &tally.gateway_moves {
        *gw.entry((old, new)).or_default() += 1;
    }
    for ((old, new), n) in gw {
        rows.push(Row {
            from: old,
            to: Some(new),
            to_label: label(new),
            to_kind: servers.nodes[new].kind,
            n,
            label: count(n, "gateway", "gateways"),
            moving: true,
        });
    }
    let agents: u64 = tally.stay.values().sum::<u64>() + tally.moves.values().sum::<u64>();
    let moving_agents: u64 = tally.moves.values().sum();
    let groups = rows.len();
    let any_moves = !rows.is_empty();
    if !any_moves {
        for (&parent, &n) in &tally.stay {
            rows.push(Row {
                from: parent,
                to: None,
                to_label: count(n, "agent", "agents"),
                to_kind: NodeKind::Agents,
                n,
                label: String::new(),
                moving: false,
            });
        }
        // Rules of a desired topology: one row per rule and parent.
        for e in &servers.edges {
            if servers.nodes[e.to].kind == NodeKind::Rule {
                rows.push(Row {
                    from: e.from,
                    to: None,
                    to_label: label(e.to),
                    to_kind: NodeKind::Rule,
                    n: 0,
                    label: String::new(),
                    moving: false,
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        b.n.cmp(&a.n)
            .then_with(|| {
                servers.nodes[a.from]
                    .label
                    .cmp(&servers.nodes[b.from].label)
            })
            .then_with(|| a.to_label.cmp(&b.to_label))
    });
    let cap = max_moves.max(1);
    let rest: Vec<Row> = if rows.len() > cap {
        rows.split_off(cap)
    } else {
        Vec::new()
    };
    let servers_n = count_kind(servers, NodeKind::ManagementServer);
    let gateways_n = count_kind(servers, NodeKind::Gateway);
    let head = format!(
        "{}, {}, {}",
        count(servers_n, "management server", "management servers"),
        count(gateways_n, "gateway", "gateways"),
        count(agents, "agent", "agents")
    );
    let summary = if any_moves {
        format!(
            "{head}: {} moving in {}, largest first (old primary → new primary)",
            count(moving_agents, "agent", "agents"),
            count(groups as u64, "group", "groups"),
        )
    } else {
        format!("{head}: nothing moves; agents per primary, largest first")
    };
    let mut g = Graph {
        view: View::Flows,
        suffix: servers.suffix.clone(),
        notes: vec![summary],
        ..Graph::default()
    };
    let mut sources: BTreeMap<usize, usize> = BTreeMap::new();
    let mut targets: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let from = *sources.entry(r.from).or_insert_with(|| {
            g.nodes.push(Node {
                kind: servers.nodes[r.from].kind,
                label: servers.nodes[r.from].label.clone(),
                rank: 0,
            });
            g.nodes.len() - 1
        });
        // Load rows each get their own count node; move targets are shared.
        let key = match r.to {
            Some(i) => format!("s{i}"),
            None => format!("r{}", g.nodes.len()),
        };
        let to = *targets.entry(key).or_insert_with(|| {
            g.nodes.push(Node {
                kind: r.to_kind,
                label: r.to_label.clone(),
                rank: 1,
            });
            g.nodes.len() - 1
        });
        g.edges.push(Edge {
            from,
            to,
            kind: if r.moving {
                EdgeKind::New
            } else {
                EdgeKind::Primary
            },
            label: r.label.clone(),
            weight: r.n,
        });
    }
    if !rest.is_empty() {
        let n: u64 = rest.iter().map(|r| r.n).sum();
        let label = if any_moves {
            let gws: u64 = rest
                .iter()
                .filter(|r| r.label.contains("gateway"))
                .map(|r| r.n)
                .sum();
            let mut what = count(n - gws, "agent", "agents");
            if gws > 0 {
                what.push_str(&format!(", {}", count(gws, "gateway", "gateways")));
            }
            format!("and {} more moves ({what})", thousands(rest.len() as u64))
        } else {
            format!(
                "and {} more primaries ({})",
                thousands(rest.len() as u64),
                count(n, "agent", "agents")
            )
        };
        g.nodes.push(Node {
            kind: NodeKind::More,
            label,
            rank: 2,
        });
    }
    g
}

fn count_kind(g: &Graph, kind: NodeKind) -> u64 {
    g.nodes.iter().filter(|n| n.kind == kind).count() as u64
}
