//! The estate as a small picture: management servers → gateways → agent
//! counts, with planned moves highlighted.
//!
//! Owns the aggregated graph model ([`Graph`]) built from a desired topology
//! ([`desired`]) or from a plan and the observed state it was made from
//! ([`change`]), and its renderers: Graphviz DOT ([`dot`]), Mermaid
//! ([`mermaid`]) and a deterministic layered SVG ([`svg`]). Agents are never
//! drawn one by one: they are counted per parent, and moving agents are
//! counted per (old primary, new primary) pair, so the graph has
//! O(management servers + gateways + distinct moves) nodes, and the number
//! of move groups drawn is capped ([`Options::max_moves`]).
//!
//! Two views ([`View`]): the per-server picture (every server a box) for
//! small estates, and the flow view for large ones (one row per move
//! group, old parent → new parent, largest first, "and N more"), chosen by
//! size unless forced: the per-server picture when its widest row fits in
//! [`layout::MAX_WIDTH`] pixels, else the flows.
//!
//! Pure: no I/O, no planning decisions of its own (it reads the plan). Must
//! not touch the planner, the loader or the CLI; running `dot` is the CLI's.

pub mod dot;
mod flows;
pub mod layout;
pub mod mermaid;
pub mod svg;

use crate::diag::{count, thousands};
use crate::model::{MemberKind, Observed, Parents, RuleAssign, Topology};
use crate::name::Name;
use crate::plan::Plan;
use std::collections::BTreeMap;

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// A management server (top row).
    ManagementServer,
    /// A gateway (middle row).
    Gateway,
    /// A count of agents that stay with one primary (bottom row).
    Agents,
    /// A count of agents moving from one primary to another (bottom row).
    Moving,
    /// Agents matched by an `agentRules` entry, not counted (desired
    /// topology without an observed state).
    Rule,
    /// Moves left out by the cap, summarised.
    More,
}

/// One box in the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What it stands for.
    pub kind: NodeKind,
    /// Its text: a short host name, or a count such as `1,200 agents`.
    /// Never contains `"`, `[`, `]`, `|`, `<` or `>` except in host names,
    /// which cannot hold them.
    pub label: String,
    /// Row: 0 management servers, 1 gateways, 2 agent counts.
    pub rank: u8,
}

/// What an edge means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Parent → member, primary; stays as it is.
    Primary,
    /// Failover parent → member (dotted grey).
    Failover,
    /// The old primary relation the plan removes (dashed red).
    Old,
    /// The new primary relation the plan creates (green).
    New,
}

/// An arrow from a parent to what reports to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Index of the parent node in [`Graph::nodes`].
    pub from: usize,
    /// Index of the member node.
    pub to: usize,
    /// What it means.
    pub kind: EdgeKind,
    /// Text on the edge (a count), or empty.
    pub label: String,
    /// How many members it stands for (the flow view's band width); 1 for
    /// a single gateway's relation.
    pub weight: u64,
}

/// An aggregated picture of the estate or of a change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Boxes, management servers first, then gateways, then counts.
    pub nodes: Vec<Node>,
    /// Arrows, in a stable order.
    pub edges: Vec<Edge>,
    /// The domain suffix left out of host names; empty if none.
    pub suffix: String,
    /// Which picture this is.
    pub view: View,
    /// Lines stated on the picture itself: what the flow view sums up,
    /// and which suffix the names were shortened by.
    pub notes: Vec<String>,
}

/// Which picture to draw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Every management server and gateway a box, agents counted per
    /// primary below them.
    #[default]
    Servers,
    /// One row per move group (old parent → new parent), or per primary
    /// when nothing moves; largest first, the rest summed up.
    Flows,
}

/// Which view [`Options`] asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// The per-server view when its widest row fits in
    /// [`layout::MAX_WIDTH`] pixels, else the flows.
    #[default]
    Auto,
    /// Always the given view.
    Force(View),
}

/// How much to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Also draw failover relations (dotted grey).
    pub failovers: bool,
    /// Draw at most this many move groups (largest first); the rest become
    /// one "and N more" box.
    pub max_moves: usize,
    /// Draw only what the change touches (for a pull-request comment).
    pub changes_only: bool,
    /// Leave this suffix out of names instead of computing one.
    pub suffix: Option<String>,
    /// Which view to draw.
    pub view: Choice,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            failovers: false,
            max_moves: 30,
            changes_only: false,
            suffix: None,
            view: Choice::Auto,
        }
    }
}

/// Final and old parents of one member or group of agents.
struct Member<'a> {
    kind: MemberKind,
    name: &'a Name,
    old: Option<&'a Parents>,
    new: Parents,
}

/// The desired topology: explicit agents counted per primary; rule-matched
/// agents (unknown without an observed state) drawn as one box per rule.
pub fn desired(t: &Topology, opts: &Options) -> Graph {
    let mut members: Vec<Member<'_>> = Vec::new();
    for g in &t.gateways {
        members.push(Member {
            kind: MemberKind::Gateway,
            name: &g.name,
            old: None,
            new: g.parents.clone(),
        });
    }
    for a in &t.agents {
        members.push(Member {
            kind: MemberKind::Agent,
            name: &a.name,
            old: None,
            new: a.parents.clone(),
        });
    }
    let servers: Vec<&Name> = t.management_servers.iter().map(|s| &s.name).collect();
    let gateways: Vec<&Name> = t.gateways.iter().map(|g| &g.name).collect();
    let mut b = Builder::new(opts, &servers, &gateways, &members);
    for r in &t.agent_rules {
        let label = format!("agents matching {}", safe(&r.pattern));
        let parents: Vec<&Name> = match &r.assign {
            RuleAssign::Fixed(p) => vec![&p.primary],
            RuleAssign::Spread { pool, .. } => pool.iter().collect(),
        };
        let n = b.push(NodeKind::Rule, label, 2);
        for p in parents {
            let from = b.server(p);
            b.edge(from, n, EdgeKind::Primary, String::new());
        }
    }
    b.finish()
}

/// A plan over the observed state it was made from: every member at its
/// final primary, and each move group drawn as a box with its old edge
/// (dashed red) and new edge (green), both labelled with the count.
pub fn change(plan: &Plan, observed: &Observed, opts: &Options) -> Graph {
    change_done(plan, observed, &|_| false, opts)
}

/// [`change`] part-way through applying the plan: members for which
/// `done` is true (pruned, or changed without a bridge) are drawn at their
/// new primary and no longer counted in a move box, so the counts follow
/// the wave (the status page).
pub fn change_done(
    plan: &Plan,
    observed: &Observed,
    done: &dyn Fn(&Name) -> bool,
    opts: &Options,
) -> Graph {
    let view = super::view::View::new(plan, observed);
    let mut planned: BTreeMap<(MemberKind, &Name), Member<'_>> = BTreeMap::new();
    for phase in &view.phases {
        if let super::view::Phase::Gateways(l) | super::view::Phase::Agents(l) = phase {
            for m in l {
                planned.insert(
                    (m.kind, m.name),
                    Member {
                        kind: m.kind,
                        name: m.name,
                        old: m.old,
                        new: m.new.clone(),
                    },
                );
            }
        }
    }
    let mut members: Vec<Member<'_>> = Vec::new();
    let obs = observed
        .gateways
        .iter()
        .map(|m| (MemberKind::Gateway, m))
        .chain(observed.agents.iter().map(|m| (MemberKind::Agent, m)));
    for (kind, m) in obs {
        if let Some(mut p) = planned.remove(&(kind, &m.name)) {
            if done(&m.name) {
                // Moved already: where it is now, not a move any more.
                p.old = None;
            }
            members.push(p);
        } else if !opts.changes_only {
            members.push(Member {
                kind,
                name: &m.name,
                old: Some(&m.parents),
                new: m.parents.clone(),
            });
        }
    }
    // Planned members not observed (a hand-made plan): as planned.
    members.extend(planned.into_values());
    let retired: Vec<&Name> = plan.retired_gateways().collect();
    let servers: Vec<&Name> = if opts.changes_only {
        Vec::new()
    } else {
        observed
            .management_servers
            .iter()
            .map(|s| &s.name)
            .collect()
    };
    let mut opts = opts.clone();
    if opts.suffix.is_none() && !view.suffix.is_empty() {
        opts.suffix = Some(view.suffix.clone());
    }
    let mut gateways: Vec<&Name> = observed.gateways.iter().map(|g| &g.name).collect();
    gateways.extend(
        members
            .iter()
            .filter(|m| m.kind == MemberKind::Gateway)
            .map(|m| m.name),
    );
    let mut b = Builder::new(&opts, &servers, &gateways, &members);
    for r in retired {
        if let Some(&i) = b.index.get(&r.to_lowercase()) {
            b.nodes[i].label.push_str(" (retired)");
        }
    }
    b.finish()
}

/// Replaces the characters that would end a quoted label in DOT or Mermaid.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' | '|' | '<' | '>' | '[' | ']' | '{' | '}' | '#' | ';' | '`' => '\'',
            c => c,
        })
        .collect()
}

struct Builder<'o> {
    opts: &'o Options,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Node index per lowercase host name.
    index: BTreeMap<String, usize>,
    suffix: String,
    /// What the flow view is made of.
    tally: flows::Tally,
}

impl<'o> Builder<'o> {
    /// Nodes for `servers` (management servers), every gateway member and
    /// every parent named; a parent is a gateway when `gateways` lists it.
    fn new(
        opts: &'o Options,
        servers: &[&Name],
        gateways: &[&Name],
        members: &[Member<'_>],
    ) -> Self {
        let is_gw: std::collections::BTreeSet<String> =
            gateways.iter().map(|g| g.to_lowercase()).collect();
        let mut drawn: BTreeMap<String, &Name> =
            servers.iter().map(|n| (n.to_lowercase(), *n)).collect();
        for m in members {
            if m.kind == MemberKind::Gateway {
                drawn.entry(m.name.to_lowercase()).or_insert(m.name);
            }
            for p in m.new.iter().chain(m.old.into_iter().flat_map(|o| o.iter())) {
                drawn.entry(p.to_lowercase()).or_insert(p);
            }
        }
        let all: Vec<&Name> = drawn.values().copied().collect();
        let suffix = opts.suffix.clone().unwrap_or_else(|| common_suffix(&all));
        let mut b = Builder {
            opts,
            nodes: Vec::new(),
            edges: Vec::new(),
            index: BTreeMap::new(),
            suffix,
            tally: flows::Tally::default(),
        };
        let (gws, ms): (Vec<_>, Vec<_>) = drawn.into_iter().partition(|(k, _)| is_gw.contains(k));
        for (kind, rank, list) in [
            (NodeKind::ManagementServer, 0, ms),
            (NodeKind::Gateway, 1, gws),
        ] {
            for (key, name) in list {
                let label = b.short(name).to_string();
                let i = b.push(kind, label, rank);
                b.index.insert(key, i);
            }
        }
        b.members(members);
        b
    }

    fn short<'n>(&self, name: &'n Name) -> &'n str {
        let s = name.as_str();
        let k = self.suffix.len();
        if k == 0 || s.len() <= k + 1 {
            return s;
        }
        let cut = s.len() - k;
        if s[cut..].eq_ignore_ascii_case(&self.suffix) && s.as_bytes()[cut - 1] == b'.' {
            &s[..cut - 1]
        } else {
            s
        }
    }

    fn push(&mut self, kind: NodeKind, label: String, rank: u8) -> usize {
        self.nodes.push(Node { kind, label, rank });
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, kind: EdgeKind, label: String) {
        self.weighted(from, to, kind, label, 1);
    }

    fn weighted(&mut self, from: usize, to: usize, kind: EdgeKind, label: String, weight: u64) {
        self.edges.push(Edge {
            from,
            to,
            kind,
            label,
            weight,
        });
    }

    /// The node of a server, added as a management server if unknown.
    fn server(&mut self, name: &Name) -> usize {
        if let Some(&i) = self.index.get(&name.to_lowercase()) {
            return i;
        }
        let label = self.short(name).to_string();
        let i = self.push(NodeKind::ManagementServer, label, 0);
        self.index.insert(name.to_lowercase(), i);
        i
    }

    fn members(&mut self, members: &[Member<'_>]) {
        // Gateways: one edge per relation.
        let mut gateway_edges = Vec::new();
        // Agents: counts per primary (staying) and per (old, new) (moving),
        // failover counts per (failover server, primary).
        let mut stay: BTreeMap<usize, u64> = BTreeMap::new();
        let mut moving: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        let mut failover: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for m in members {
            let new = self.server(&m.new.primary);
            let old = m.old.map(|o| self.server(&o.primary));
            let moves = old.is_some_and(|o| o != new);
            match m.kind {
                MemberKind::Gateway => {
                    let me = self.server(m.name);
                    if let (true, Some(o)) = (moves, old) {
                        self.tally.gateway_moves.push((o, new, me));
                        gateway_edges.push((o, me, EdgeKind::Old));
                        gateway_edges.push((new, me, EdgeKind::New));
                    } else {
                        gateway_edges.push((new, me, EdgeKind::Primary));
                    }
                    if self.opts.failovers {
                        for f in &m.new.failover {
                            let f = self.server(f);
                            gateway_edges.push((f, me, EdgeKind::Failover));
                        }
                    }
                }
                MemberKind::Agent => {
                    match (moves, old) {
                        (true, Some(o)) => *moving.entry((o, new)).or_default() += 1,
                        _ => *stay.entry(new).or_default() += 1,
                    }
                    if self.opts.failovers {
                        for f in &m.new.failover {
                            let f = self.server(f);
                            *failover.entry((f, new)).or_default() += 1;
                        }
                    }
                }
            }
        }
        for (from, to, kind) in gateway_edges {
            self.edge(from, to, kind, String::new());
        }
        let mut agents_of: BTreeMap<usize, usize> = BTreeMap::new();
        self.tally.stay = stay.clone();
        self.tally.moves = moving.clone();
        for (parent, n) in stay {
            let i = self.push(NodeKind::Agents, count(n, "agent", "agents"), 2);
            self.weighted(parent, i, EdgeKind::Primary, String::new(), n);
            agents_of.insert(parent, i);
        }
        for ((f, primary), n) in failover {
            let to = match agents_of.get(&primary) {
                Some(&i) => i,
                None => continue,
            };
            self.weighted(
                f,
                to,
                EdgeKind::Failover,
                count(n, "failover", "failovers"),
                n,
            );
        }
        // Largest moves first; ties by old then new parent name.
        let mut moves: Vec<((usize, usize), u64)> = moving.into_iter().collect();
        moves.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.nodes[a.0.0].label.cmp(&self.nodes[b.0.0].label))
                .then_with(|| self.nodes[a.0.1].label.cmp(&self.nodes[b.0.1].label))
        });
        let cap = self.opts.max_moves;
        for ((old, new), n) in moves.iter().take(cap) {
            let label = format!(
                "{} moving: {} to {}",
                count(*n, "agent", "agents"),
                self.nodes[*old].label,
                self.nodes[*new].label
            );
            let i = self.push(NodeKind::Moving, label, 2);
            let c = thousands(*n);
            self.weighted(*old, i, EdgeKind::Old, format!("-{c}"), *n);
            self.weighted(*new, i, EdgeKind::New, format!("+{c}"), *n);
        }
        if moves.len() > cap {
            let rest = &moves[cap..];
            let agents: u64 = rest.iter().map(|m| m.1).sum();
            let label = format!(
                "and {} more moves ({})",
                thousands(rest.len() as u64),
                count(agents, "agent", "agents")
            );
            self.push(NodeKind::More, label, 2);
        }
    }

    fn finish(self) -> Graph {
        let notes = if self.suffix.is_empty() {
            Vec::new()
        } else {
            vec![format!("names shortened: .{} left out", self.suffix)]
        };
        let servers = self.servers(notes.clone());
        let flows = match self.opts.view {
            Choice::Force(View::Servers) => false,
            Choice::Force(View::Flows) => true,
            Choice::Auto => layout::natural_width(&servers) > layout::MAX_WIDTH,
        };
        if flows {
            let mut g = flows::build(&servers, &self.tally, self.opts.max_moves);
            g.notes.extend(notes);
            g
        } else {
            servers
        }
    }

    /// The per-server picture.
    fn servers(&self, notes: Vec<String>) -> Graph {
        let mut g = Graph {
            nodes: self.nodes.clone(),
            edges: self.edges.clone(),
            suffix: self.suffix.clone(),
            view: View::Servers,
            notes,
        };
        if self.opts.changes_only {
            // A server that only parents moves beyond the cap has no edge
            // left: leave it out, so the comment's graph stays small.
            let mut used = vec![false; g.nodes.len()];
            for e in &g.edges {
                used[e.from] = true;
                used[e.to] = true;
            }
            let mut new_index = vec![usize::MAX; g.nodes.len()];
            let mut kept = Vec::new();
            for (i, n) in g.nodes.into_iter().enumerate() {
                if used[i] || n.kind == NodeKind::More {
                    new_index[i] = kept.len();
                    kept.push(n);
                }
            }
            g.nodes = kept;
            for e in &mut g.edges {
                e.from = new_index[e.from];
                e.to = new_index[e.to];
            }
        }
        g
    }
}

/// The longest run of trailing labels every name shares, as long as each
/// keeps at least one label of its own (as `render` does).
fn common_suffix(names: &[&Name]) -> String {
    super::view::suffix_shared_by(names)
}
