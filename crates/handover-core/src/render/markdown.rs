//! The plan as a pull-request comment (GitHub-flavoured Markdown).
//!
//! Owns the comment layout: a summary table, a collapsible `<details>`
//! section per phase, the Mermaid change graph (`crate::render::graph`, old primary
//! dashed red, new primary green, at most [`GRAPH_MOVES`] move groups), and
//! the blocked members with their reasons. Large phases are grouped by
//! identical moves and long lists cut, tightening until the comment fits
//! under [`MAX_CHARS`] (GitHub refuses 65,536). Pure.

use super::Options;
use super::text::{by_size, examples, group, kind_word, no_changes, store_line};
use super::view::{MemberView, Phase, View, move_groups};
use crate::diag::thousands;
use crate::model::{MemberKind, Observed};
use crate::name::Name;
use crate::plan::Plan;
use std::fmt::Write;

/// The comment stays below this many characters.
pub const MAX_CHARS: usize = 65_000;

/// Renders the plan as Markdown, under [`MAX_CHARS`].
pub fn render(plan: &Plan, observed: &Observed, opts: &Options) -> String {
    let view = View::new(plan, observed);
    let mut out = String::new();
    let mut graph: Option<(usize, String)> = None;
    for rows in [200, 50, 10, 3] {
        // The graph only changes when its cap does (30, 30, 10, 3).
        let cap = rows.min(GRAPH_MOVES);
        if graph.as_ref().is_none_or(|(c, _)| *c != cap) {
            graph = Some((cap, change_graph(plan, observed, &view, cap)));
        }
        let graph = graph.as_ref().map(|(_, g)| g.as_str()).unwrap_or_default();
        out = render_with(&view, opts, rows, graph);
        if out.chars().count() < MAX_CHARS {
            return out;
        }
    }
    out
}

/// Most move groups drawn in the comment's graph.
pub const GRAPH_MOVES: usize = 30;

/// The Mermaid graph of what the plan changes, fenced for GitHub, with at
/// most `cap` move groups; empty when the plan changes no gateway's or
/// agent's parents.
fn change_graph(plan: &Plan, observed: &Observed, view: &View<'_>, cap: usize) -> String {
    let opts = crate::render::graph::Options {
        changes_only: true,
        max_moves: cap,
        suffix: Some(view.suffix.clone()),
        failovers: false,
        // GitHub draws the Mermaid at the comment's width: the per-server
        // picture of only what changes, capped, as before.
        view: super::graph::Choice::Force(super::graph::View::Servers),
    };
    let g = crate::render::graph::change(plan, observed, &opts);
    if g.edges.is_empty() {
        return String::new();
    }
    format!(
        "<details open>\n<summary>Change graph</summary>\n\nOld primary dashed red, new primary green; counts on the edges.\n\n```mermaid\n{}```\n\n</details>\n\n",
        crate::render::graph::mermaid::render(&g)
    )
}

fn render_with(view: &View<'_>, opts: &Options, rows: usize, graph: &str) -> String {
    let plan = view.plan;
    let s = &plan.summary;
    let mut out = String::from("### handover plan\n\n");
    if plan.is_empty() {
        out.push_str(&no_changes(plan));
        return out;
    }
    let _ = writeln!(
        out,
        "| members to change | through a bridge | set directly | steps (operations + waits) | blocked | unmanaged agents | unmanaged gateways | gateways to retire |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    let c = crate::plan::Counts::of(plan);
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} ({} + {}) | {} | {} | {} | {} |\n",
        thousands(c.members),
        thousands(c.through_bridge),
        thousands(c.set_directly),
        thousands(c.steps),
        thousands(c.operations),
        thousands(c.waits),
        thousands(s.blocked),
        thousands(s.unmanaged),
        thousands(s.unmanaged_gateways),
        thousands(s.retired)
    );
    if !view.suffix.is_empty() {
        let _ = writeln!(out, "Names are shown without `.{}`.\n", view.suffix);
    }
    out.push_str(graph);
    for phase in &view.phases {
        let n = match phase {
            Phase::ManagementServers(l) => l.len(),
            Phase::Gateways(l) | Phase::Agents(l) | Phase::Prune(l) => l.len(),
            Phase::Retire(l) => l.len(),
            Phase::Store(l) => l.len(),
        };
        let title = match phase {
            Phase::Agents(_) => format!(
                "Agents ({}, waves of up to {})",
                thousands(n as u64),
                thousands(opts.max_in_flight as u64)
            ),
            _ => format!("{} ({})", phase.title(), thousands(n as u64)),
        };
        details(&mut out, false, &title);
        match phase {
            Phase::ManagementServers(list) => {
                let _ = writeln!(
                    out,
                    "| management server | state | members waiting |\n|---|---|---:|"
                );
                for (ms, state, n) in list.iter().take(rows) {
                    let _ = writeln!(out, "| {} | {state} | {} |", view.short(ms), thousands(*n));
                }
                more(&mut out, list.len(), rows, "servers");
            }
            Phase::Gateways(members) | Phase::Agents(members) => {
                member_table(&mut out, view, members, opts.verbose, rows);
            }
            Phase::Prune(members) => {
                let groups = group(members.iter().map(|m| {
                    let to = view.short(m.awaits.expect("prune members await"));
                    ((view.names(&m.dropped()), to.to_string()), m.name)
                }));
                let _ = writeln!(
                    out,
                    "| members | remove | once connected to |\n|---|---|---|"
                );
                let groups = by_size(groups);
                for ((what, to), names) in groups.iter().take(rows) {
                    let _ = writeln!(out, "| {} | {what} | {to} |", cell(view, names));
                }
                more(&mut out, groups.len(), rows, "groups");
            }
            Phase::Retire(names) => {
                for g in names.iter().take(rows) {
                    let _ = writeln!(
                        out,
                        "- `{}`: nothing lists it or is connected to it any more",
                        view.short(g)
                    );
                }
                more(&mut out, names.len(), rows, "gateways");
            }
            Phase::Store(actions) => {
                for (i, a) in actions.iter().enumerate() {
                    let _ = writeln!(out, "{}. {}", i + 1, store_line(view, a));
                }
            }
        }
        out.push_str("\n</details>\n\n");
    }
    if !plan.blocked.is_empty() {
        let title = format!("Blocked ({})", thousands(plan.blocked.len() as u64));
        details(&mut out, true, &title);
        let _ = writeln!(out, "| blocked | kind | reason |\n|---|---|---|");
        let groups = by_size(group(
            plan.blocked
                .iter()
                .map(|b| ((b.kind, b.reason.to_string()), &b.name)),
        ));
        for ((kind, reason), names) in groups.iter().take(rows) {
            let kind = kind_word(*kind);
            let _ = writeln!(out, "| {} | {kind} | {reason} |", cell(view, names));
        }
        more(&mut out, groups.len(), rows, "reasons");
        out.push_str("\n</details>\n");
    }
    let loads = super::load_rows(plan, opts.verbose);
    if !loads.is_empty() {
        let shown = &loads[..loads.len().min(rows)];
        out.push('\n');
        details(
            &mut out,
            false,
            &format!("Load per parent ({})", thousands(loads.len() as u64)),
        );
        let _ = writeln!(
            out,
            "{}",
            crate::assign::table::render_loads_markdown(shown)
        );
        more(&mut out, loads.len(), rows, "parents");
        out.push_str("</details>\n");
    }
    if !plan.notes.is_empty() {
        out.push('\n');
        let title = format!(
            "Kept where they are ({})",
            thousands(plan.notes.len() as u64)
        );
        details(&mut out, false, &title);
        let _ = writeln!(out, "| agents | why |\n|---|---|");
        let groups = group(plan.notes.iter().map(|n| (n.note.as_str(), &n.name)));
        for (note, names) in groups.iter().take(rows) {
            let _ = writeln!(out, "| {} | {note} |", cell(view, names));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// Opens a collapsible section (`open`: shown unfolded) with `summary`,
/// then a blank line.
fn details(out: &mut String, open: bool, summary: &str) {
    let open = if open { " open" } else { "" };
    let _ = writeln!(out, "<details{open}>\n<summary>{summary}</summary>\n");
}

/// A members cell: every name when few, else a count and examples.
fn cell(view: &View<'_>, names: &[&Name]) -> String {
    if names.len() <= 3 {
        view.names(names)
    } else {
        format!(
            "{}: {}",
            thousands(names.len() as u64),
            examples(view, names)
        )
    }
}

fn more(out: &mut String, total: usize, shown: usize, what: &str) {
    if total > shown {
        let _ = writeln!(
            out,
            "\n… and {} more {what}; see `handover plan --format json` for every step.",
            thousands((total - shown) as u64)
        );
    }
}

fn member_table(
    out: &mut String,
    view: &View<'_>,
    members: &[MemberView<'_>],
    verbose: bool,
    rows: usize,
) {
    if verbose && members.len() <= rows || members.len() <= super::text::GROUP_OVER {
        let _ = writeln!(
            out,
            "| member | change | parents before | parents after |\n|---|---|---|---|"
        );
        for m in members.iter().take(rows) {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | `{}` |",
                view.short(m.name),
                view.describe(m),
                m.old.map(|o| view.parents(o)).unwrap_or_default(),
                view.parents(&m.new)
            );
        }
        more(out, members.len(), rows, "members");
        return;
    }
    let groups = move_groups(members);
    let _ = writeln!(
        out,
        "| members | parents before | parents after | how |\n|---|---|---|---|"
    );
    for g in groups.iter().take(rows) {
        let first = g[0];
        let how = first.how();
        let names: Vec<&Name> = g.iter().map(|m| m.name).collect();
        let kind = if first.kind == MemberKind::Gateway {
            "gateway"
        } else {
            "agent"
        };
        let _ = writeln!(
            out,
            "| {} ({kind}) | `{}` | `{}` | {how} |",
            cell(view, &names),
            first.old.map(|o| view.parents(o)).unwrap_or_default(),
            view.parents(&first.new)
        );
    }
    more(out, groups.len(), rows, "groups");
}
