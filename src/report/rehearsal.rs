//! Text for people: the rehearsal's opening line, progress per wave, a line
//! per pass, and the final verdict, in the administrators' words. Returns
//! strings; the CLI prints.

use crate::diag::{count, thousands};
use crate::execute::ProgressEvent;
use crate::execute::{RehearsalReport, StopReason};
use crate::model::Policy;
use crate::name::Name;
use crate::plan::Summary;
use std::collections::BTreeSet;
use std::time::Duration;

/// At most this many names are spelled out in a list.
const SHOWN: usize = 10;

/// At most about this many wave lines per rehearsal: larger migrations
/// report several waves per line.
const WAVE_LINES: usize = 20;

fn list(names: &[Name]) -> String {
    let mut s: Vec<String> = names.iter().take(SHOWN).map(|n| n.to_string()).collect();
    if names.len() > SHOWN {
        s.push(format!(
            "and {} more",
            thousands((names.len() - SHOWN) as u64)
        ));
    }
    s.join(", ")
}

fn members(k: usize) -> String {
    count(k as u64, "member", "members")
}

/// Whole seconds as `1h 2m 5s` (`0s` for zero).
pub fn duration(seconds: f64) -> String {
    let d = Duration::from_secs(seconds.round().max(0.0) as u64);
    humantime::format_duration(d).to_string()
}

/// The faults the rehearsal injected, one line each with its virtual
/// time; nothing when none fired.
pub fn faults(fired: &[crate::sim::Fired]) -> String {
    if fired.is_empty() {
        return String::new();
    }
    let mut out = String::from("Faults injected (virtual time from the start):\n");
    for f in fired {
        out.push_str(&format!(
            "  {:>8}  {} {}\n",
            duration(f.at),
            f.fault,
            f.what
        ));
    }
    out
}

/// The opening line: what the rehearsal will do, from the first plan.
/// `bridges` is false for the `direct` strategy, which has no window.
pub fn header(strategy: &str, summary: &Summary, policy: &Policy, bridges: bool) -> String {
    let mut s = format!(
        "Rehearsing {strategy}: {} to change",
        members(summary.moves as usize)
    );
    if summary.bridged > 0 {
        s.push_str(&format!(
            " ({} through a bridge: new primary first, old parents kept as failovers until it connects)",
            thousands(summary.bridged)
        ));
    }
    if summary.retired > 0 {
        s.push_str(&format!(
            ", {} to retire",
            count(summary.retired, "gateway", "gateways")
        ));
    }
    if summary.blocked > 0 {
        s.push_str(&format!(", {} blocked", thousands(summary.blocked)));
    }
    if bridges {
        s.push_str(&format!(
            "; at most {} in a bridge at once, {} each to connect to its new primary.\n",
            thousands(u64::from(policy.max_in_flight)),
            duration(policy.ack_timeout.0 as f64)
        ));
    } else {
        s.push_str(", each written in one step as the console does (no bridge, no waiting).\n");
    }
    s
}

/// Turns progress events into one line per wave: a wave is `maxInFlight`
/// members finishing (on their desired parents, pending in their bridge,
/// or failed). When a migration has more than about
/// twenty waves, one line covers several, so the output stays readable.
#[derive(Debug)]
pub struct Waves {
    per_line: usize,
    window: usize,
    expected: usize,
    in_line: usize,
    wave: usize,
    done: BTreeSet<Name>,
    pending: BTreeSet<Name>,
    failed: BTreeSet<Name>,
}

impl Waves {
    /// `window` is `policy.maxInFlight`; `expected` the members the first
    /// plan changes.
    pub fn new(window: u32, expected: u64) -> Self {
        let window = window.max(1) as usize;
        let waves = (expected as usize).div_ceil(window).max(1);
        let group = waves.div_ceil(WAVE_LINES);
        Waves {
            per_line: window * group,
            window,
            expected: expected as usize,
            in_line: 0,
            wave: 0,
            done: BTreeSet::new(),
            pending: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    /// Feeds one event; returns the lines to print now (a wave that just
    /// completed, or the pass that just finished).
    pub fn event(&mut self, e: &ProgressEvent) -> Vec<String> {
        let mut out = Vec::new();
        match e {
            ProgressEvent::Pruned(n) | ProgressEvent::Changed(n) => {
                self.pending.remove(n);
                self.done.insert(n.clone());
                self.one_finished(&mut out);
            }
            // A member found pending again in a later pass is not news.
            ProgressEvent::Pending(n) if self.pending.insert(n.clone()) => {
                self.one_finished(&mut out);
            }
            ProgressEvent::Failed { name, .. } => {
                self.failed.insert(name.clone());
                self.one_finished(&mut out);
            }
            ProgressEvent::PassFinished {
                pass,
                applied,
                pending,
                failed,
                clock_seconds,
            } => {
                if self.in_line > 0 {
                    out.push(self.line());
                }
                let mut s = format!("pass {pass} finished at t = {}: ", duration(*clock_seconds));
                if *applied == 0 {
                    s.push_str("nothing left to apply");
                } else {
                    s.push_str(&format!(
                        "{} applied",
                        count(*applied, "operation", "operations")
                    ));
                }
                if *pending > 0 {
                    s.push_str(&format!(
                        ", {} still waiting to connect to the new primary",
                        members(*pending)
                    ));
                }
                if *failed > 0 {
                    s.push_str(&format!(
                        ", {} failed (refused, timed out or a provider error)",
                        members(*failed)
                    ));
                }
                out.push(s);
            }
            _ => {}
        }
        out
    }

    fn one_finished(&mut self, out: &mut Vec<String>) {
        self.in_line += 1;
        if self.in_line >= self.per_line {
            out.push(self.line());
        }
    }

    fn line(&mut self) -> String {
        let first = self.wave + 1;
        self.wave += self.in_line.div_ceil(self.window);
        let label = if self.wave > first {
            format!("waves {first}-{}", self.wave)
        } else {
            format!("wave {first}")
        };
        self.in_line = 0;
        let mut s = format!(
            "{label}: {} of {} members have their desired parents",
            thousands(self.done.len() as u64),
            thousands(self.expected.max(self.done.len()) as u64),
        );
        if !self.pending.is_empty() {
            s.push_str(&format!(
                ", {} pending in a bridge",
                thousands(self.pending.len() as u64)
            ));
        }
        if !self.failed.is_empty() {
            s.push_str(&format!(", {} failed", thousands(self.failed.len() as u64)));
        }
        s
    }
}

/// The final verdict of a rehearsal, several lines, ending in a newline.
pub fn verdict(r: &RehearsalReport, strategy: &str) -> String {
    let mut out = String::new();
    if !r.stranded.is_empty() {
        out.push_str(&format!(
            "UNSAFE ({strategy}): {} stranded. Their old parent stopped accepting them before they learned their new primary; they keep calling it and are ignored (OpsMgr event 20000), and only a manual repair on each member brings them back: {}\n",
            members(r.stranded.len()),
            list(&r.stranded)
        ));
    }
    let healed: Vec<Name> = r
        .stranded_ever
        .iter()
        .filter(|n| !r.stranded.contains(n))
        .cloned()
        .collect();
    if !healed.is_empty() {
        out.push_str(&format!(
            "UNSAFE ({strategy}): {} stranded at some moment of the rehearsal (no configuration could reach them: their learned parents had dropped them, or led only into a gateway chain cut off from every management server) and reached again only by a later change; in the field each would have needed a manual repair: {}\n",
            members(healed.len()),
            list(&healed)
        ));
    }
    let safe = r.stranded.is_empty() && healed.is_empty();
    if safe && r.converged {
        out.push_str(&format!(
            "Converged ({strategy}): every managed agent and gateway has exactly its desired primary and failovers and reports to its primary. No member was stranded.\n"
        ));
    } else if safe {
        out.push_str(&format!(
            "Not converged ({strategy}), but safe: no member was stranded.\n"
        ));
    }
    let in_bridge: Vec<Name> = r
        .pending
        .iter()
        .filter(|p| !r.waiting.contains(p))
        .cloned()
        .collect();
    if !in_bridge.is_empty() {
        out.push_str(&format!(
            "Pending: {} did not connect to the new primary within policy.ackTimeout. They stay in their bridge (new primary set, old parents kept as failovers), so they keep reporting; check the health service on each, then run again: {}\n",
            members(in_bridge.len()),
            list(&in_bridge)
        ));
    }
    if !r.waiting.is_empty() {
        out.push_str(&format!(
            "Waiting: {} did not start because a change they wait for did not finish (a gateway they move onto, or the members a retired gateway still serves); they are untouched: {}\n",
            members(r.waiting.len()),
            list(&r.waiting)
        ));
    }
    if !r.blocked.is_empty() {
        out.push_str(&format!(
            "Blocked: {} cannot move yet (a new parent is down, not ready or absent); `handover plan` gives each reason: {}\n",
            count(r.blocked.len() as u64, "change", "changes"),
            list(&r.blocked)
        ));
    }
    if !r.failed.is_empty() {
        out.push_str(&format!(
            "Failed: a change failed for {} (refused by the provider, timed out, a provider error, or stopped by handover's check): {}\n",
            members(r.failed.len()),
            list(&r.failed)
        ));
    }
    if !r.converged
        && let Some(v) = &r.last
    {
        let explained: BTreeSet<&Name> = r
            .pending
            .iter()
            .chain(&r.blocked)
            .chain(&r.failed)
            .chain(&r.stranded)
            .collect();
        let differ: Vec<Name> = v
            .parents_differ
            .iter()
            .filter(|n| !explained.contains(n))
            .cloned()
            .collect();
        if !differ.is_empty() {
            out.push_str(&format!(
                "Not as desired: {} still have other parents than the topology says: {}\n",
                members(differ.len()),
                list(&differ)
            ));
        }
        let off: Vec<Name> = v
            .not_on_primary
            .iter()
            .filter(|n| !explained.contains(n))
            .cloned()
            .collect();
        if !off.is_empty() {
            out.push_str(&format!(
                "Not on their primary: {} report to another server although their desired primary is up: {}\n",
                members(off.len()),
                list(&off)
            ));
        }
        if !v.store_ok {
            out.push_str("The Central Management Store is not active in its desired pool.\n");
        }
    }
    match &r.stop {
        StopReason::PassLimit => out.push_str("Stopped after the maximum number of passes.\n"),
        StopReason::Cancelled => out.push_str("Cancelled before the end.\n"),
        StopReason::ProviderError(e) => {
            out.push_str(&format!("Stopped: the target could not be read: {e}\n"))
        }
        StopReason::Converged | StopReason::NoProgress => {}
    }
    let bridged = if r.max_in_flight == 0 {
        "no member in a bridge".to_string()
    } else {
        format!(
            "at most {} in a bridge at once",
            thousands(r.max_in_flight as u64)
        )
    };
    out.push_str(&format!(
        "{} moved, {bridged}, {} applied ({}), {} of simulated time.\n",
        members(r.moved as usize),
        count(r.steps_applied, "operation", "operations"),
        count(r.provider_calls, "provider call", "provider calls"),
        duration(r.virtual_seconds)
    ));
    out
}

/// One line about what a change window or the approval gate did in a
/// rehearsal (docs/gates.md), at its virtual time.
pub fn gate_event(e: &crate::run::gates::rehearse::GateEvent) -> String {
    let t = format!("at {}", duration(e.at_seconds as f64));
    match e.event {
        "window_closed" => format!(
            "{t} ({}): outside the change window: {} members held back{}.",
            e.at,
            e.members,
            e.until.as_deref().map_or(
                ", and no window opens within 400 days".to_string(),
                |u| format!(" until it opens at {u}")
            )
        ),
        "window_open" => format!(
            "{t} ({}): the change window is open: changes may start.",
            e.at
        ),
        "awaiting_approval" => format!(
            "{t} ({}): awaiting approval: {} members would move; approve {} (simulate --approve DIGEST or --auto-approve).",
            e.at,
            e.members,
            e.digest.as_deref().unwrap_or("")
        ),
        _ => format!(
            "{t} ({}): approved {} ({} members).",
            e.at,
            e.digest.as_deref().unwrap_or(""),
            e.members
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Classification;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn report() -> RehearsalReport {
        RehearsalReport {
            converged: true,
            stranded: vec![],
            stranded_ever: vec![],
            pending: vec![],
            waiting: vec![],
            blocked: vec![],
            failed: vec![],
            moved: 12,
            max_in_flight: 4,
            executor_max_in_flight: 4,
            steps_applied: 24,
            provider_calls: 26,
            observe_calls: 30,
            virtual_seconds: 1830.0,
            passes: 2,
            stop: StopReason::Converged,
            last: Some(Classification {
                store_ok: true,
                ..Classification::default()
            }),
        }
    }

    #[test]
    fn converged_verdict() {
        let s = verdict(&report(), "make-before-break");
        assert_eq!(
            s,
            "Converged (make-before-break): every managed agent and gateway has exactly its desired primary and failovers and reports to its primary. No member was stranded.\n\
             12 members moved, at most 4 in a bridge at once, 24 operations applied (26 provider calls), 30m 30s of simulated time.\n"
        );
    }

    #[test]
    fn stranded_verdict_lists_names_and_truncates() {
        let mut r = report();
        r.converged = false;
        r.max_in_flight = 0;
        r.stranded = (0..12).map(|i| n(&format!("web{i:02}"))).collect();
        r.stop = StopReason::NoProgress;
        let s = verdict(&r, "direct");
        assert!(
            s.starts_with("UNSAFE (direct): 12 members stranded."),
            "{s}"
        );
        assert!(s.contains("web09, and 2 more\n"), "{s}");
        assert!(
            s.contains("12 members moved, no member in a bridge,"),
            "{s}"
        );
    }

    #[test]
    fn pending_blocked_and_what_else_differs_are_named() {
        let mut r = report();
        r.converged = false;
        r.pending = vec![n("web07")];
        r.blocked = vec![n("pool2.contoso.local")];
        r.last = Some(Classification {
            parents_differ: vec![n("web07"), n("web08")],
            not_on_primary: vec![n("web09")],
            in_bridge: vec![n("web07")],
            store_ok: false,
        });
        let s = verdict(&r, "make-before-break");
        assert!(
            s.contains("Not converged (make-before-break), but safe"),
            "{s}"
        );
        assert!(
            s.contains(
                "Pending: 1 member did not connect to the new primary within policy.ackTimeout."
            ),
            "{s}"
        );
        assert!(s.contains("Blocked: 1 change cannot move yet"), "{s}");
        assert!(s.contains("`handover plan` gives each reason: pool2.contoso.local\n"));
        // web07 is explained as pending; web08 is not.
        assert!(
            s.contains("Not as desired: 1 member still have other parents"),
            "{s}"
        );
        assert!(s.contains("parents than the topology says: web08\n"), "{s}");
        assert!(s.contains("desired primary is up: web09\n"), "{s}");
        assert!(s.contains("Central Management Store is not active in its desired pool"));
    }

    #[test]
    fn header_says_what_will_happen() {
        let summary = Summary {
            changes: 31,
            moves: 16,
            bridged: 14,
            retired: 1,
            ..Summary::default()
        };
        let policy = Policy {
            max_in_flight: 5,
            ..Policy::default()
        };
        assert_eq!(
            header("make-before-break", &summary, &policy, true),
            "Rehearsing make-before-break: 16 members to change (14 through a bridge: new primary first, old parents kept as failovers until it connects), 1 gateway to retire; at most 5 in a bridge at once, 30m each to connect to its new primary.\n"
        );
    }

    #[test]
    fn direct_has_no_window() {
        let summary = Summary {
            moves: 16,
            ..Summary::default()
        };
        assert_eq!(
            header("direct", &summary, &Policy::default(), false),
            "Rehearsing direct: 16 members to change, each written in one step as the console does (no bridge, no waiting).\n"
        );
    }

    #[test]
    fn one_line_per_wave_then_the_pass() {
        let mut w = Waves::new(2, 5);
        let mut lines = Vec::new();
        for i in 0..4 {
            lines.extend(w.event(&ProgressEvent::Pruned(n(&format!("a{i}")))));
        }
        lines.extend(w.event(&ProgressEvent::Pending(n("a4"))));
        lines.extend(w.event(&ProgressEvent::PassFinished {
            pass: 1,
            applied: 9,
            pending: 1,
            failed: 0,
            clock_seconds: 912.4,
        }));
        assert_eq!(
            lines,
            [
                "wave 1: 2 of 5 members have their desired parents",
                "wave 2: 4 of 5 members have their desired parents",
                "wave 3: 4 of 5 members have their desired parents, 1 pending in a bridge",
                "pass 1 finished at t = 15m 12s: 9 operations applied, 1 member still waiting to connect to the new primary",
            ]
        );
        // Pending again in the next pass: no new wave.
        assert!(w.event(&ProgressEvent::Pending(n("a4"))).is_empty());
        // A pending member that connects later counts as done, once.
        let l = w.event(&ProgressEvent::Pruned(n("a4")));
        assert!(l.is_empty());
        let l = w.event(&ProgressEvent::PassFinished {
            pass: 2,
            applied: 1,
            pending: 0,
            failed: 0,
            clock_seconds: 1000.0,
        });
        assert_eq!(l[0], "wave 4: 5 of 5 members have their desired parents");
    }

    #[test]
    fn large_migrations_group_waves() {
        let mut w = Waves::new(100, 30_000);
        let mut lines = Vec::new();
        for i in 0..30_000 {
            lines.extend(w.event(&ProgressEvent::Pruned(n(&format!("a{i}")))));
        }
        assert_eq!(lines.len(), 20);
        assert_eq!(
            lines[0],
            "waves 1-15: 1,500 of 30,000 members have their desired parents"
        );
        assert_eq!(
            lines[19],
            "waves 286-300: 30,000 of 30,000 members have their desired parents"
        );
    }
}
