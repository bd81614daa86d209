//! The status page the listener serves at `/`: one self-contained HTML
//! document, rendered on the server from [`Status`] and [`Live`].
//!
//! Owns the page's markup, its embedded assets (`page/index.html`,
//! `page/page.css`, `page/page.js`, compiled into the binary with
//! `include_str!`), the escaping of everything that came from input, and
//! the headers that go with it ([`CSP`]). The first view is complete
//! without JavaScript; with it, `page.js` fetches the `main` fragment
//! ([`main`]) from the same listener every few seconds and swaps it in, so
//! there is one renderer and nothing is loaded from anywhere else. The
//! status it is given is the one `/status` answers with (the pass in
//! progress laid over the last record, [`Live::status`]); [`Live`] adds
//! each member's stage and the wave's tally. Pure: the time comes in as an
//! argument. Must not observe, plan or apply, and
//! must not change the status it renders.

pub use super::html::escape;
use super::live::{LIST_CAP, Live, Phase, Stage};
use super::status::{BlockedView, PassSummary, Status, SyncStatus};
use crate::diag::thousands;
use crate::name::Name;
use crate::plan::BlockedKind;
use crate::state::rfc3339;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::SystemTime;

/// The document around the fragment; `{{title}}` and `{{main}}` are
/// filled in.
const INDEX: &str = include_str!("page/index.html");
/// The style sheet, served at `page/page.css`.
pub const CSS: &str = include_str!("page/page.css");
/// The script, served at `page/page.js`.
pub const JS: &str = include_str!("page/page.js");

/// The `Content-Security-Policy` of the page: nothing but same-origin
/// scripts, styles and fetches; images only from the page itself.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The whole page at wall time `now`.
pub fn document(status: &Status, live: &Live, now: SystemTime) -> String {
    INDEX
        .replace("{{title}}", &escape(&title(status.sync)))
        .replace("{{main}}", &main(status, live, now))
}

/// The window title: the sync status first, so a tab says it.
fn title(sync: Option<SyncStatus>) -> String {
    let sync = sync.map_or("Starting", SyncStatus::as_str);
    format!("{sync} · handover reconcile")
}

/// The part `page.js` refreshes: everything between the header and the
/// footer.
pub fn main(status: &Status, live: &Live, now: SystemTime) -> String {
    let mut o = String::with_capacity(16 * 1024);
    // One panel per line keeps the markup diffable.
    overview(&mut o, status, live, now);
    o.push('\n');
    problems(&mut o, status, live);
    super::html::rollout_section(&mut o, status, now);
    super::html::gates_section(&mut o, status);
    graph(&mut o, live);
    o.push('\n');
    in_flight(&mut o, status, live);
    o.push('\n');
    blocked(&mut o, status);
    o.push('\n');
    history(&mut o, status);
    o.push('\n');
    o
}

/// `2026-11-26T16:00:00Z` as `2026-11-26 16:00:00 UTC`, in a `<time>`.
fn time(rfc: &str) -> String {
    let shown = match rfc.strip_suffix('Z') {
        Some(t) => format!("{} UTC", t.replacen('T', " ", 1)),
        None => rfc.to_string(),
    };
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(rfc),
        escape(&shown)
    )
}

/// Seconds for people: `0.42 s`, `12.3 s`, `4 min 5 s`.
fn took(secs: f64) -> String {
    if secs < 1.0 {
        format!("{secs:.2} s")
    } else if secs < 120.0 {
        format!("{secs:.1} s")
    } else {
        let s = secs.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// The CSS class of a sync status.
fn sync_class(s: Option<SyncStatus>) -> &'static str {
    match s {
        Some(SyncStatus::Synced) => "synced",
        Some(SyncStatus::OutOfSync) => "outofsync",
        Some(SyncStatus::Progressing) => "progressing",
        Some(SyncStatus::Degraded) => "degraded",
        Some(SyncStatus::Suspended) => "suspended",
        Some(SyncStatus::AwaitingApproval) => "awaitingapproval",
        None => "unknown",
    }
}

/// What a sync status means, in one sentence.
fn sync_meaning(s: Option<SyncStatus>) -> &'static str {
    match s {
        Some(SyncStatus::Synced) => {
            "Every managed agent and gateway has its desired parents; nothing is in flight or blocked."
        }
        Some(SyncStatus::OutOfSync) => {
            "The estate differs from the desired topology and the last pass could change nothing: see the blocked members."
        }
        Some(SyncStatus::Progressing) => {
            "Changes are under way: members are moving to their new parents, make-before-break."
        }
        Some(SyncStatus::Degraded) => {
            "Something needs a person: a member without a working parent, a failed step, or a failed pass. See the problems below."
        }
        Some(SyncStatus::Suspended) => {
            "Applying is suspended: the loop observes and reports, and changes nothing."
        }
        Some(SyncStatus::AwaitingApproval) => {
            "The plan moves more members than policy.approval allows without approval: nothing new starts until its digest is approved (handover approve)."
        }
        None => "Waiting for the first observation of the target.",
    }
}

fn kind_word(k: BlockedKind) -> &'static str {
    match k {
        BlockedKind::Gateway => "gateway",
        BlockedKind::Agent => "agent",
        BlockedKind::Store => "Central Management Store",
    }
}

fn section_open(o: &mut String, id: &str, heading: &str, count: Option<u64>) {
    let _ = write!(
        o,
        "<section id=\"{id}\" data-testid=\"{id}\" aria-labelledby=\"{id}-h\">\
         <h2 id=\"{id}-h\">{heading}"
    );
    if let Some(n) = count {
        let _ = write!(o, " <span class=\"count\">{}</span>", thousands(n));
    }
    o.push_str("</h2>");
}

/// "and N more", when a list was cut.
fn more(o: &mut String, shown: usize, total: u64, what: &str) {
    if total > shown as u64 {
        let _ = write!(
            o,
            "<p class=\"more\" data-testid=\"more\">and {} more {what}</p>",
            thousands(total - shown as u64)
        );
    }
}

fn overview(o: &mut String, s: &Status, live: &Live, now: SystemTime) {
    let sync = s.sync;
    let class = sync_class(sync);
    let word = sync.map_or("Starting", SyncStatus::as_str);
    let _ = write!(
        o,
        "<section id=\"overview\" data-testid=\"overview\" aria-labelledby=\"overview-h\">\
         <h1 id=\"overview-h\">Reconcile status</h1>\
         <div class=\"status-row\"><p id=\"sync\" data-testid=\"sync-status\" data-sync=\"{word}\" \
         class=\"badge {class}\" role=\"status\" aria-live=\"polite\">{word}</p>\
         <p class=\"meaning\">{}</p></div><dl class=\"facts\">",
        sync_meaning(sync)
    );
    let fact = |o: &mut String, label: &str, html: String| {
        let _ = write!(o, "<div><dt>{label}</dt><dd>{html}</dd></div>");
    };
    fact(
        o,
        "Revision",
        match &s.revision {
            Some(r) => format!(
                "<code id=\"revision\" data-testid=\"revision\" title=\"{}\">{}</code> \
                 <span class=\"muted\">since {}</span>",
                escape(&r.id),
                escape(&r.short),
                time(&r.since)
            ),
            None => "<span id=\"revision\" data-testid=\"revision\" class=\"muted\">none loaded yet</span>"
                .into(),
        },
    );
    fact(
        o,
        "Desired topology",
        format!("<code>{}</code>", escape(&s.source)),
    );
    fact(o, "Target", format!("<code>{}</code>", escape(&s.target)));
    if let Some(ha) = &s.ha {
        fact(o, "Replica", replica(ha));
    }
    fact(
        o,
        "Last pass",
        match &s.last_pass {
            Some(p) => format!(
                "<span data-testid=\"passes\">#{}</span> · {} · {} · took {}",
                s.passes,
                escape(p.trigger.as_str()),
                time(&p.started),
                took(p.duration_seconds)
            ),
            None => "<span data-testid=\"passes\">none yet</span>".into(),
        },
    );
    let now_doing = match live.phase {
        Phase::Idle => Phase::Idle.as_str().to_string(),
        p => format!("pass #{}: {}", live.pass, p.as_str()),
    };
    fact(
        o,
        "Now",
        format!("<span data-testid=\"phase\">{}</span>", escape(&now_doing)),
    );
    if let Some(i) = live.interval {
        fact(
            o,
            "Next pass",
            format!(
                "every {} (±10 %); at once when the desired topology changes",
                escape(&humantime::format_duration(i).to_string())
            ),
        );
    }
    if s.suspended {
        fact(o, "Applying", "suspended".into());
    }
    fact(
        o,
        "Updated",
        format!(
            "<span id=\"updated\" data-testid=\"updated\">{}</span>",
            time(&rfc3339(now))
        ),
    );
    o.push_str("</dl><ul class=\"counts\" data-testid=\"counts\">");
    let m = &s.members;
    for (n, what, class) in [
        (s.in_flight.len() as u64, "in a bridge", "bridged"),
        (m.pending, "pending acknowledgement", "pending"),
        (m.blocked, "blocked", "blocked"),
        (m.stranded, "without a working parent", "stranded"),
    ] {
        let warn = if n > 0 && matches!(class, "stranded" | "blocked" | "pending") {
            " warn"
        } else {
            ""
        };
        let _ = write!(
            o,
            "<li class=\"{class}{warn}\" data-testid=\"count-{class}\"><b>{}</b> {what}</li>",
            thousands(n)
        );
    }
    o.push_str("</ul></section>");
}

fn problems(o: &mut String, s: &Status, live: &Live) {
    if s.last_error.is_none() && s.refused.is_none() && live.failed.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<section id=\"problems\" data-testid=\"problems\" class=\"problems\" role=\"alert\" \
         aria-labelledby=\"problems-h\"><h2 id=\"problems-h\">Needs attention</h2><ul>"
    );
    if let Some(e) = &s.last_error {
        let _ = write!(
            o,
            "<li><b>{}</b> error at {}: {}</li>",
            escape(e.kind.as_str()),
            time(&e.at),
            escape(&e.message)
        );
    }
    if let Some(r) = &s.refused {
        let _ = write!(
            o,
            "<li>Revision <code>{}</code> was refused; the last good revision stays in use.<ul>",
            escape(&r.revision)
        );
        for e in r.errors.iter().take(LIST_CAP) {
            let _ = write!(o, "<li><code>{}</code></li>", escape(e));
        }
        o.push_str("</ul></li>");
    }
    for (n, why) in &live.failed {
        let _ = write!(
            o,
            "<li><b>{}</b>: the change stopped on a provider error: {}</li>",
            escape(n.as_str()),
            escape(why)
        );
    }
    o.push_str("</ul></section>\n");
}

fn graph(o: &mut String, live: &Live) {
    section_open(o, "graph", "Topology", None);
    o.push_str(
        "<p class=\"legend\">The last plan, with members already moved at their new primary. \
         A small estate: management servers (top), gateways (middle) and agents counted per \
         primary (bottom); <span class=\"key old\">red dashed</span>: old primary, \
         <span class=\"key new\">green</span>: new primary. A large one: one row per move \
         group, old primary → new primary, largest first, the band as thick as its count.</p>",
    );
    match &live.graph_svg {
        Some(svg) => {
            // Inline SVG needs no namespace in HTML; leaving it out keeps
            // the page free of any URL but its own.
            let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
            let _ = write!(
                o,
                "<div class=\"graph-box\" role=\"img\" aria-label=\"Topology graph\">{svg}</div>"
            );
        }
        None => o.push_str(
            "<p class=\"empty\">No plan yet: the graph appears after the first observation.</p>",
        ),
    }
    o.push_str("</section>");
}

fn stages(stage: Stage) -> String {
    let at = match stage {
        Stage::Bridged | Stage::Pending => 0,
        Stage::Acknowledged => 1,
    };
    let mut o = format!(
        "<ol class=\"stages\" aria-label=\"{}\">",
        match stage {
            Stage::Pending => "bridged, waiting for acknowledgement",
            s => s.as_str(),
        }
    );
    for (i, word) in ["bridged", "acknowledged", "pruned"]
        .into_iter()
        .enumerate()
    {
        let class = if i < at {
            "done"
        } else if i == at {
            "current"
        } else {
            "todo"
        };
        let _ = write!(o, "<li class=\"{class}\">{word}</li>");
    }
    o.push_str("</ol>");
    o
}

/// Members in a bridge (the status's list) with their stage (from the live
/// table; a member only a previous pass's record knows is pending) and
/// since when.
fn in_bridge<'a>(s: &'a Status, live: &'a Live) -> BTreeMap<&'a Name, (Stage, &'a str)> {
    s.in_flight
        .iter()
        .map(|f| {
            let stage = live
                .in_flight
                .get(&f.name)
                .map_or(Stage::Pending, |m| m.stage);
            (&f.name, (stage, f.since.as_str()))
        })
        .collect()
}

fn in_flight(o: &mut String, s: &Status, live: &Live) {
    let rows = in_bridge(s, live);
    section_open(o, "in-flight", "In flight", Some(rows.len() as u64));
    let t = &live.tally;
    let moves = live.wave_moves;
    let done = t.pruned + t.changed;
    if live.phase == Phase::Applying || done > 0 || t.bridged > 0 {
        let _ = write!(
            o,
            "<div class=\"wave\" data-testid=\"wave\"><progress id=\"wave-progress\" max=\"{}\" value=\"{}\"></progress>\
             <p><b>{}</b> of {} moves done in pass #{}: {} bridged → {} acknowledged → {} pruned{}{}{}</p></div>",
            moves.max(done),
            done,
            thousands(done),
            thousands(moves.max(done)),
            live.wave_pass,
            thousands(t.bridged),
            thousands(t.acknowledged),
            thousands(t.pruned),
            if t.changed > 0 {
                format!(", {} changed without a bridge", thousands(t.changed))
            } else {
                String::new()
            },
            if t.pending > 0 {
                format!(", {} pending", thousands(t.pending))
            } else {
                String::new()
            },
            if t.failed > 0 {
                format!(", {} failed", thousands(t.failed))
            } else {
                String::new()
            },
        );
    }
    if rows.is_empty() {
        o.push_str("<p class=\"empty\">No member is in a bridge.</p></section>");
        return;
    }
    o.push_str(
        "<table><thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Progress</th>\
         <th scope=\"col\">In a bridge since</th></tr></thead><tbody>",
    );
    for (n, (stage, since)) in rows.iter().take(LIST_CAP) {
        let _ = write!(
            o,
            "<tr data-stage=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            stage.as_str(),
            escape(n.as_str()),
            stages(*stage),
            time(since)
        );
    }
    o.push_str("</tbody></table>");
    more(
        o,
        LIST_CAP.min(rows.len()),
        rows.len() as u64,
        "members in flight",
    );
    o.push_str("</section>");
}

fn blocked(o: &mut String, s: &Status) {
    let list: Vec<&BlockedView> = s.blocked.iter().take(LIST_CAP).collect();
    let total = s.blocked.len() as u64;
    section_open(o, "blocked", "Blocked", Some(total));
    if list.is_empty() {
        o.push_str("<p class=\"empty\">Nothing is blocked.</p></section>");
        return;
    }
    o.push_str(
        "<table><thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Kind</th>\
         <th scope=\"col\">Why it cannot move</th></tr></thead><tbody>",
    );
    for b in &list {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(b.name.as_str()),
            kind_word(b.kind),
            escape(&b.reason)
        );
    }
    o.push_str("</tbody></table>");
    more(o, list.len(), total, "blocked");
    o.push_str("</section>");
}

fn history(o: &mut String, s: &Status) {
    section_open(o, "history", "Recent passes", None);
    if s.history.is_empty() {
        o.push_str("<p class=\"empty\">No pass has finished yet.</p></section>");
        return;
    }
    o.push_str(
        "<table><thead><tr><th scope=\"col\">Pass</th><th scope=\"col\">Started</th>\
         <th scope=\"col\">Trigger</th><th scope=\"col\">Revision</th><th scope=\"col\">Outcome</th>\
         <th scope=\"col\" class=\"num\">Steps planned</th><th scope=\"col\" class=\"num\">Operations applied</th>\
         <th scope=\"col\" class=\"num\">Blocked</th><th scope=\"col\" class=\"num\">Took</th></tr></thead><tbody>",
    );
    for h in &s.history {
        row(o, h);
    }
    o.push_str("</tbody></table></section>");
}

fn row(o: &mut String, h: &PassSummary) {
    let word = h.sync.map_or("—", SyncStatus::as_str);
    let error = match &h.error {
        Some(e) => format!("<div class=\"error\">{}</div>", escape(e)),
        None => String::new(),
    };
    let _ = write!(
        o,
        "<tr><td>#{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>\
         <td><span class=\"badge small {}\">{word}</span>{error}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        h.pass,
        time(&h.started),
        escape(h.trigger.as_str()),
        escape(h.revision.as_deref().unwrap_or("—")),
        sync_class(h.sync),
        thousands(h.changes),
        thousands(h.applied),
        thousands(h.blocked),
        took(h.duration_seconds)
    );
}

/// The replica's part with `--ha`: leader (and its term) or standby (and
/// who leads), and etcd's state when it cannot be reached.
fn replica(ha: &crate::ha::HaView) -> String {
    let mut html = format!(
        "<span data-testid=\"ha-role\">{}</span> <code>{}</code>",
        escape(&ha.role),
        escape(&ha.replica)
    );
    if let Some(t) = ha.term {
        let _ = write!(html, " · term {t}");
    }
    if ha.role != "leader" {
        let _ = write!(
            html,
            " · leader <code>{}</code>",
            escape(ha.leader.as_deref().unwrap_or("none"))
        );
    }
    if let Some(g) = &ha.group {
        let _ = write!(html, " · management group <code>{}</code>", escape(g));
    }
    if let Some(e) = &ha.etcd_error {
        let _ = write!(
            html,
            " · <span class=\"error\">etcd unreachable: {}</span>",
            escape(e)
        );
    }
    html
}

#[cfg(test)]
mod tests;
