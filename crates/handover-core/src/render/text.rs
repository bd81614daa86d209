//! The text report `handover plan` prints by default.
//!
//! Owns the terminal layout: a summary line, then each phase in order with
//! each member's parent change and, per member, the parent-list difference
//! (computed with `similar`). Large phases are grouped by identical moves
//! unless verbose. Colour only when [`Options::color`] says so. Pure.

use super::Options;
use super::store::Backup;
use super::view::{MemberView, Phase, View, move_groups};
use crate::diag::{count, thousands};
use crate::model::{MemberKind, Observed};
use crate::name::Name;
use crate::plan::{Action, FailoverMode, Plan};
use similar::{Algorithm, ChangeTag};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Phases with more members than this are grouped unless verbose.
pub const GROUP_OVER: usize = 20;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
}

/// The summary line, in the words of [`crate::plan::Counts`]: members to
/// change (through a bridge, set directly), gateways to retire, store
/// failovers, then the steps they take (operations and waits), blocked
/// and unmanaged members.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let c = crate::plan::Counts::of(plan);
    let mut line = count(c.members, "member to change", "members to change");
    if c.members > 0 {
        let _ = write!(
            line,
            " ({} through a bridge, {} set directly)",
            thousands(c.through_bridge),
            thousands(c.set_directly)
        );
    }
    if c.retirements > 0 {
        let _ = write!(
            line,
            ", {} to retire",
            count(c.retirements, "gateway", "gateways")
        );
    }
    if c.failovers > 0 {
        let _ = write!(
            line,
            ", {}",
            count(
                c.failovers,
                "Central Management Store failover",
                "Central Management Store failovers"
            )
        );
    }
    let _ = write!(
        line,
        ", in {} ({}, {}); {} blocked, {} unmanaged {}",
        count(c.steps, "step", "steps"),
        count(c.operations, "operation", "operations"),
        count(c.waits, "wait", "waits"),
        thousands(s.blocked),
        thousands(s.unmanaged),
        if s.unmanaged == 1 { "agent" } else { "agents" },
    );
    if s.unmanaged_gateways > 0 {
        let _ = write!(
            line,
            " and {} (retireGateways is off)",
            count(s.unmanaged_gateways, "gateway", "gateways")
        );
    }
    line
}

/// The one line for an empty plan, with its end.
pub(crate) fn no_changes(plan: &Plan) -> String {
    format!(
        "No changes: the observed state matches the desired topology ({}).\n",
        summary_line(plan)
    )
}

/// Renders the plan as the text report.
pub fn render(plan: &Plan, observed: &Observed, opts: &Options) -> String {
    let view = View::new(plan, observed);
    let paint = Paint { on: opts.color };
    if plan.is_empty() {
        return no_changes(plan);
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} {}.", paint.bold("Plan:"), summary_line(plan));
    if !view.suffix.is_empty() {
        let _ = writeln!(out, "Names are shown without .{}.", view.suffix);
    }
    for phase in &view.phases {
        out.push('\n');
        match phase {
            Phase::ManagementServers(list) => {
                heading(&mut out, &paint, phase.title());
                for (ms, state, n) in list {
                    let _ = writeln!(
                        out,
                        "  {} is {}: {} wait for it (blocked)",
                        view.short(ms),
                        paint.yellow(state),
                        count(*n, "member", "members")
                    );
                }
            }
            Phase::Gateways(members) => {
                heading(&mut out, &paint, phase.title());
                members_block(&mut out, &view, &paint, members, opts.verbose);
            }
            Phase::Agents(members) => {
                let wave = opts.max_in_flight.max(1) as usize;
                let waves = members.len().div_ceil(wave);
                if opts.verbose || members.len() <= GROUP_OVER {
                    for (i, chunk) in members.chunks(wave).enumerate() {
                        if i > 0 {
                            out.push('\n');
                        }
                        let title = format!(
                            "Agents, wave {} of {} ({})",
                            thousands(i as u64 + 1),
                            thousands(waves as u64),
                            count(chunk.len() as u64, "agent", "agents")
                        );
                        heading(&mut out, &paint, &title);
                        members_block(&mut out, &view, &paint, chunk, true);
                    }
                } else {
                    let title = format!(
                        "Agents ({} in {} of up to {})",
                        thousands(members.len() as u64),
                        count(waves as u64, "wave", "waves"),
                        thousands(wave as u64)
                    );
                    heading(&mut out, &paint, &title);
                    members_block(&mut out, &view, &paint, members, false);
                }
            }
            Phase::Prune(members) => {
                let _ = writeln!(
                    out,
                    "{} (each member once it has connected to its new primary)",
                    paint.bold(phase.title())
                );
                if opts.verbose || members.len() <= GROUP_OVER {
                    for m in members {
                        let _ = writeln!(
                            out,
                            "  {}: {} once it has connected to {}",
                            view.short(m.name),
                            removes(&view, &paint, m),
                            view.short(m.awaits.expect("prune members await"))
                        );
                    }
                } else {
                    let groups = group(members.iter().map(|m| {
                        let to = view.short(m.awaits.expect("prune members await"));
                        ((removes(&view, &paint, m), to.to_string()), m.name)
                    }));
                    for ((what, to), names) in by_size(groups) {
                        let _ = writeln!(
                            out,
                            "  {}: {what} once connected to {to}",
                            count(names.len() as u64, "member", "members")
                        );
                        let _ = writeln!(out, "      {}", examples(&view, &names));
                    }
                }
            }
            Phase::Retire(names) => {
                heading(&mut out, &paint, phase.title());
                for n in names {
                    let _ = writeln!(
                        out,
                        "  {}: nothing lists it or is connected to it any more",
                        paint.red(view.short(n))
                    );
                }
            }
            Phase::Store(actions) => {
                heading(&mut out, &paint, phase.title());
                for a in actions {
                    let _ = writeln!(out, "  {}", store_line(&view, a));
                }
            }
        }
    }
    if !plan.blocked.is_empty() {
        out.push('\n');
        let title = format!("Blocked ({})", thousands(plan.blocked.len() as u64));
        heading(&mut out, &paint, &title);
        if opts.verbose || plan.blocked.len() <= GROUP_OVER {
            for b in &plan.blocked {
                let _ = writeln!(
                    out,
                    "  {} ({}): {}",
                    view.short(&b.name),
                    kind_word(b.kind),
                    paint.yellow(&b.reason.to_string())
                );
            }
        } else {
            let groups = group(
                plan.blocked
                    .iter()
                    .map(|b| ((kind_word(b.kind), b.reason.to_string()), &b.name)),
            );
            for ((kind, reason), names) in by_size(groups) {
                let _ = writeln!(
                    out,
                    "  {} {kind}s: {}",
                    thousands(names.len() as u64),
                    paint.yellow(&reason)
                );
                let _ = writeln!(out, "      {}", examples(&view, &names));
            }
        }
    }
    loads_and_notes(&mut out, plan, &view, &paint, opts.verbose);
    out
}

/// The load table (parents whose load changes or is over capacity; every
/// parent when verbose) and the agents a rule kept where they are.
fn loads_and_notes(out: &mut String, plan: &Plan, view: &View<'_>, paint: &Paint, verbose: bool) {
    let rows = super::load_rows(plan, verbose);
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold("Load per parent (agents, plus gateways on a management server)")
        );
        for line in crate::assign::table::render_loads_text(&rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !plan.notes.is_empty() {
        let title = format!(
            "Kept where they are ({})",
            thousands(plan.notes.len() as u64)
        );
        out.push('\n');
        heading(out, paint, &title);
        for (note, names) in group(plan.notes.iter().map(|n| (n.note.as_str(), &n.name))) {
            if verbose || names.len() <= 3 {
                for n in names {
                    let _ = writeln!(out, "  {}: {note}", view.short(n));
                }
            } else {
                let _ = writeln!(
                    out,
                    "  {}: {note}\n      {}",
                    count(names.len() as u64, "agent", "agents"),
                    examples(view, &names)
                );
            }
        }
    }
}

/// A bold heading on a line of its own.
fn heading(out: &mut String, paint: &Paint, title: &str) {
    let _ = writeln!(out, "{}", paint.bold(title));
}

/// Names grouped by a key, in key order, each group in the order given.
pub(crate) fn group<'a, K: Ord>(
    items: impl IntoIterator<Item = (K, &'a Name)>,
) -> BTreeMap<K, Vec<&'a Name>> {
    let mut groups: BTreeMap<K, Vec<&'a Name>> = BTreeMap::new();
    for (key, name) in items {
        groups.entry(key).or_default().push(name);
    }
    groups
}

/// The word for a blocked subject.
pub(crate) fn kind_word(k: crate::plan::BlockedKind) -> &'static str {
    match k {
        crate::plan::BlockedKind::Gateway => "gateway",
        crate::plan::BlockedKind::Agent => "agent",
        crate::plan::BlockedKind::Store => "store",
    }
}

/// `remove [old parents]`, in red.
fn removes(view: &View<'_>, paint: &Paint, m: &MemberView<'_>) -> String {
    format!("remove {}", paint.red(&view.names(&m.dropped())))
}

/// One line per member, or one per group of identical moves.
fn members_block(
    out: &mut String,
    view: &View<'_>,
    paint: &Paint,
    members: &[MemberView<'_>],
    verbose: bool,
) {
    if verbose || members.len() <= GROUP_OVER {
        for m in members {
            let _ = writeln!(out, "  {}  {}", view.short(m.name), view.describe(m));
            let _ = writeln!(out, "      parents: {}", list_diff(view, paint, m));
        }
        return;
    }
    for g in move_groups(members) {
        let first = g[0];
        let (one, many) = match first.kind {
            MemberKind::Gateway => ("gateway", "gateways"),
            MemberKind::Agent => ("agent", "agents"),
        };
        let how = first.how();
        let from = first.old.map(|o| view.parents(o)).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: {from} → {} ({how})",
            count(g.len() as u64, one, many),
            view.parents(&first.new)
        );
        let names: Vec<&Name> = g.iter().map(|m| m.name).collect();
        let _ = writeln!(out, "      {}", examples(view, &names));
    }
}

/// The parent-list difference: `[gw2 +gw3 -gw1]`, old order kept.
fn list_diff(view: &View<'_>, paint: &Paint, m: &MemberView<'_>) -> String {
    let old: Vec<Name> = m
        .old
        .map(|o| o.iter().cloned().collect())
        .unwrap_or_default();
    let new: Vec<Name> = m.new.iter().cloned().collect();
    let mut parts = Vec::new();
    for (tag, slice) in similar::utils::diff_slices(Algorithm::Myers, &old, &new) {
        for n in slice {
            let s = view.short(n);
            parts.push(match tag {
                ChangeTag::Equal => s.to_string(),
                ChangeTag::Delete => paint.red(&format!("-{s}")),
                ChangeTag::Insert => paint.green(&format!("+{s}")),
            });
        }
    }
    format!("[{}]", parts.join(" "))
}

/// `web01, web02, web03 and 1,197 more`.
pub(crate) fn examples(view: &View<'_>, names: &[&Name]) -> String {
    const SHOW: usize = 3;
    let shown = view.names(&names[..names.len().min(SHOW)]);
    if names.len() > SHOW {
        format!(
            "{shown} and {} more",
            thousands((names.len() - SHOW) as u64)
        )
    } else {
        shown
    }
}

/// The words a failover that restores the store database adds.
fn restore_words(restore: bool) -> &'static str {
    if restore {
        ", restoring the existing store database (-Restore)"
    } else {
        ""
    }
}

/// Groups, largest first, then by key.
pub(crate) fn by_size<K: Ord, V>(groups: BTreeMap<K, Vec<V>>) -> Vec<(K, Vec<V>)> {
    let mut v: Vec<(K, Vec<V>)> = groups.into_iter().collect();
    v.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    v
}

/// A store step in words. A disaster-recovery failover says plainly that it
/// skips the replication check and may lose data.
pub(crate) fn store_line(view: &View<'_>, a: &Action) -> String {
    match a {
        Action::AwaitReplication { pool } => format!(
            "wait until replication is complete (for the failover to {})",
            view.short(pool)
        ),
        Action::StoreFailover {
            pool,
            mode: FailoverMode::Planned,
            restore,
            ..
        } => format!(
            "fail the store over to {} (planned: replication checked, the old database set read-only){}",
            view.short(pool),
            restore_words(*restore)
        ),
        Action::StoreFailover { pool, restore, .. } => {
            let b = Backup::of(a).unwrap_or_default();
            let mut s = format!(
                "fail the store over to {} in disaster-recovery mode (-Force), backup SQL server {}",
                view.short(pool),
                b.server.map(Name::as_str).unwrap_or("?")
            );
            if let Some(i) = b.instance {
                let _ = write!(s, " instance {i}");
            }
            if let Some(m) = b.mirror {
                let _ = write!(s, ", mirror {m}");
                if let Some(i) = b.mirror_instance {
                    let _ = write!(s, " instance {i}");
                }
            }
            s.push_str(restore_words(*restore));
            s.push_str(
                ". The replication check is skipped: changes written since the last replication may be lost",
            );
            s
        }
        Action::AwaitStoreActive { pool } => format!(
            "wait until the store is active in {} and in no other pool",
            view.short(pool)
        ),
        other => format!("{other:?}"),
    }
}
