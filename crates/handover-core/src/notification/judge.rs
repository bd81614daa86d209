//! Which events two successive snapshots of the reconcile loop mean.
//!
//! Owns [`judge`], level-triggered on its inputs: it compares what the
//! loop reported after the previous pass with what it reports now, so an
//! event fires once per transition, not on every pass that finds the
//! same state. Must not send, read the clock, or keep state of its own:
//! the caller keeps the previous snapshot.

use super::payload::{Member, Notification};
use super::snapshot::{RolloutPhase, Snapshot, SyncState};
use crate::diag::count;
use crate::model::notify::Event;

/// The notifications the step from `prev` to `next` means, in the order
/// of [`Event::ALL`], stamped `at` (RFC 3339, from the caller's clock).
///
/// - `progressing`: `prev` was Synced and `next` is Progressing, or its
///   pass applied changes (a pass that converges in one go still tells
///   that changes started); or `prev` is unknown (the first pass of a run,
///   every `reconcile --once`) and the pass applied changes;
/// - `synced`: `next` is Synced and `prev` was another status (not
///   unknown: a restart that finds the estate Synced says nothing), or
///   was Synced or unknown and the pass applied changes;
/// - `degraded`: `next` is Degraded and `prev` was not;
/// - `blocked`: members blocked in `next` and not in `prev`;
/// - `pendingAck`, `stranded`: more such members than in `prev`;
/// - `awaitingApproval`: a plan digest awaits approval that did not;
/// - `analysisFailed`, `rolledBack`: the rollout entered that phase;
/// - `windowOpened`, `windowClosed`: the window's state flipped (not
///   from unknown).
pub fn judge(prev: &Snapshot, next: &Snapshot, at: &str) -> Vec<Notification> {
    let mut out = Vec::new();
    let note = |event, message: String, members: Vec<Member>| {
        Notification::new(event, next, message, members, at)
    };
    let was = prev.sync;
    let now = next.sync;
    let synced = Some(SyncState::Synced);
    let changed = next.applied > 0;
    // The first pass of a run that changed the estate is news: without
    // this, a `reconcile --once` (a fresh run each time) never told one.
    let first_change = was.is_none() && now.is_some() && changed;
    if (was == synced && (now == Some(SyncState::Progressing) || changed)) || first_change {
        let msg = format!(
            "pass {} started changing the estate: {} to move, {} applied",
            next.pass,
            count(next.moves, "member", "members"),
            count(next.applied, "operation", "operations"),
        );
        let members = next.in_flight.iter().map(|n| Member::named(n)).collect();
        out.push(note(Event::Progressing, msg, members));
    }
    if now == synced
        && ((was.is_some() && was != synced) || (was == synced && changed) || first_change)
    {
        let from = was.map_or("unknown", SyncState::as_str);
        let applied = count(next.applied, "operation", "operations");
        let msg = if was == synced {
            format!("every managed member has its desired parents again ({applied} applied)")
        } else if first_change {
            format!("every managed member has its desired parents ({applied} applied)")
        } else {
            format!("every managed member has its desired parents (was {from})")
        };
        out.push(note(Event::Synced, msg, Vec::new()));
    }
    if now == Some(SyncState::Degraded) && was != now {
        let msg = next
            .reason
            .clone()
            .unwrap_or_else(|| "the estate needs a person; see /status".to_string());
        out.push(note(Event::Degraded, msg, Vec::new()));
    }
    let new_blocked: Vec<Member> = next
        .blocked
        .iter()
        .filter(|(n, _)| !prev.blocked.contains_key(*n))
        .map(|(n, why)| Member {
            name: n.clone(),
            reason: Some(why.clone()),
        })
        .collect();
    if !new_blocked.is_empty() {
        let msg = format!(
            "{} newly blocked ({} blocked in all): their change cannot start",
            count(new_blocked.len() as u64, "member", "members"),
            next.blocked.len()
        );
        out.push(note(Event::Blocked, msg, new_blocked));
    }
    if let Some(msg) = rose(
        (prev.pending, next.pending),
        "pending acknowledgement past the ack timeout",
        "they stay in their bridge, on old and new parents",
    ) {
        let members = next.in_flight.iter().map(|n| Member::named(n)).collect();
        out.push(note(Event::PendingAck, msg, members));
    }
    if let Some(msg) = rose(
        (prev.stranded, next.stranded),
        "stranded with no working parent",
        "they report to no management server",
    ) {
        out.push(note(Event::Stranded, msg, Vec::new()));
    }
    if let Some(digest) = &next.awaiting_approval
        && prev.awaiting_approval.as_ref() != Some(digest)
    {
        let msg = format!(
            "plan {digest} moves {} and waits for approval: handover approve {digest}",
            count(next.moves, "member", "members")
        );
        out.push(note(Event::AwaitingApproval, msg, Vec::new()));
    }
    for (phase, event, what) in [
        (
            RolloutPhase::AnalysisFailed,
            Event::AnalysisFailed,
            "the rollout step's analysis failed",
        ),
        (
            RolloutPhase::RolledBack,
            Event::RolledBack,
            "the failed rollout step's members are back on their old parents",
        ),
    ] {
        if next.rollout == Some(phase) && prev.rollout != Some(phase) {
            let msg = match &next.reason {
                Some(r) => format!("{what}: {r}"),
                None => what.to_string(),
            };
            out.push(note(event, msg, Vec::new()));
        }
    }
    match (prev.window_open, next.window_open) {
        (Some(false), Some(true)) => {
            let msg = match &next.window_next {
                Some(t) => format!("the change window opened; bridges may start until {t}"),
                None => "the change window opened; bridges may start".to_string(),
            };
            out.push(note(Event::WindowOpened, msg, Vec::new()));
        }
        (Some(true), Some(false)) => {
            let msg = match &next.window_next {
                Some(t) => format!(
                    "the change window closed; no new bridge starts until {t} (members already in a bridge finish)"
                ),
                None => "the change window closed; no new bridge starts (members already in a bridge finish)".to_string(),
            };
            out.push(note(Event::WindowClosed, msg, Vec::new()));
        }
        _ => {}
    }
    out
}

/// `N members <what> (was M): <then>` when a count of members rose from
/// `M` to `N`.
fn rose((was, now): (u64, u64), what: &str, then: &str) -> Option<String> {
    (now > was).then(|| {
        format!(
            "{} {what} (was {was}): {then}",
            count(now, "member", "members")
        )
    })
}

#[cfg(test)]
mod tests;
