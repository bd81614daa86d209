//! `handover status` for people: a running reconcile loop's `/status`
//! as a summary.
//!
//! Owns the words and layout of [`summary`] (the progress line, then the
//! revision, source, target, passes, replica, error, refusal, and the
//! first members in a bridge and blocked). Returns a string; must not
//! print, fetch or judge (the judgement is
//! [`crate::reconcile::wait::judge`]).

use crate::diag::thousands;
use crate::reconcile::wait::{StatusDoc, progress};

/// The most members `status` lists in text (the rest are counted).
const SHOWN: usize = 10;

/// A status for people: the progress line, then what to look at.
pub fn summary(doc: &StatusDoc) -> String {
    let mut o = format!("{}\n", progress(doc));
    let mut row = |k: &str, v: String| o.push_str(&format!("  {k:<10} {v}\n"));
    if let Some(r) = &doc.revision {
        row("revision", r.id.clone());
    }
    row("source", doc.source.clone());
    row("target", doc.target.clone());
    row("passes", thousands(doc.passes));
    if let Some(ha) = &doc.ha {
        row(
            "replica",
            format!(
                "{} (leader: {})",
                ha.role,
                ha.leader.as_deref().unwrap_or("none")
            ),
        );
    }
    if let Some(e) = &doc.last_error {
        row("error", format!("{}: {}", e.kind, e.message));
    }
    if let Some(r) = &doc.refused {
        row("refused", r.revision.clone());
        for e in r.errors.iter().take(SHOWN) {
            o.push_str(&format!("    {e}\n"));
        }
    }
    if !doc.in_flight.is_empty() {
        o.push_str(&format!(
            "In a bridge ({}):\n",
            thousands(doc.in_flight.len() as u64)
        ));
        for f in doc.in_flight.iter().take(SHOWN) {
            o.push_str(&format!("  {} since {}\n", f.name, f.since));
        }
        more(&mut o, doc.in_flight.len());
    }
    if !doc.blocked.is_empty() {
        o.push_str(&format!(
            "Blocked ({}):\n",
            thousands(doc.blocked.len() as u64)
        ));
        for b in doc.blocked.iter().take(SHOWN) {
            o.push_str(&format!("  {} {}: {}\n", b.kind, b.name, b.reason));
        }
        more(&mut o, doc.blocked.len());
    }
    o
}

fn more(o: &mut String, total: usize) {
    if total > SHOWN {
        o.push_str(&format!(
            "  and {} more\n",
            thousands((total - SHOWN) as u64)
        ));
    }
}
