//! The approval gate's judgement: which changes a plan would start, their
//! digest, and whether they wait for a person (docs/gates.md).
//!
//! Owns [`Change`], [`changes`], [`digest`] and [`gate`]. The digest covers
//! exactly the changes that have not started yet ([`admit::wanting`]):
//! for each, whether it is an agent or a gateway, its name, its observed
//! configured parents and its desired parents, in a canonical order with
//! lowercase names, hashed with the FNV-1a of every persisted id. A new
//! desired state (another target) or a changed observation of a member to
//! move (its parents changed by someone else) gives a new digest; the
//! health of servers, connections and members already in a bridge do not.
//! An approval covers the changes it named: once admitted they are
//! remembered by the caller as approved, so the migration progressing (its
//! members leaving the not-started list) never makes it expire. Pure:
//! must not read the journal or files (the caller says which digests are
//! approved) and must not decide when changes are planned.

use super::admit::{self, Subject};
use crate::assign::Assignment;
use crate::hash::{FastSet, fnv1a64_hex};
use crate::model::{Approval, MemberKind, Observed, Parents, Topology};
use crate::name::Name;

/// One member move that has not started: configured parents → desired.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// Agent or gateway.
    pub kind: MemberKind,
    /// The member.
    pub name: Name,
    /// Its configured parents now.
    pub from: Parents,
    /// Its desired parents.
    pub to: Parents,
}

/// The changes that have not started, in [`admit::wanting`] order.
pub fn changes(desired: &Topology, observed: &Observed, assignment: &Assignment) -> Vec<Change> {
    admit::wanting(desired, observed, assignment)
        .into_iter()
        .map(|(kind, name, from, to)| Change {
            kind,
            name: name.clone(),
            from: from.clone(),
            to: to.clone(),
        })
        .collect()
}

/// The digest of a list of changes: `fnv1a64:` and 16 hex digits, the same
/// for the same changes in any order, on every machine.
pub fn digest(changes: &[Change]) -> String {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|c| {
            let parents = |p: &Parents| {
                p.iter()
                    .map(|n| n.as_str().to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{} {} {} -> {}\n",
                c.kind,
                c.name.as_str().to_ascii_lowercase(),
                parents(&c.from),
                parents(&c.to)
            )
        })
        .collect();
    lines.sort();
    fnv1a64_hex(lines.concat().as_bytes())
}

/// Whether `text` looks like a digest this module writes.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("fnv1a64:")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Changes waiting for approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Awaiting {
    /// What to approve: the [`digest`] of the waiting changes.
    pub digest: String,
    /// How many members would move.
    pub members: u64,
    /// How many members the topology manages.
    pub managed: u64,
    /// The policy's thresholds.
    pub threshold: Approval,
}

/// What the gate decided for one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// No gate, or the changes not yet approved are within the thresholds:
    /// start anything.
    Open,
    /// The changes not yet approved were approved now (their digest is in
    /// the caller's approvals): start anything, and remember `changes` as
    /// approved.
    Approved {
        /// The digest that was approved.
        digest: String,
        /// The changes it covers.
        changes: Vec<Change>,
    },
    /// Above a threshold and not approved: start only changes already
    /// approved earlier.
    Waiting(Awaiting),
}

/// The gate for one pass. `approved_before` are the changes an earlier
/// approval covered (still admitted); `is_approved` says whether a digest
/// has been approved (journal, file, flag).
pub fn gate(
    policy: Option<&Approval>,
    desired: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    approved_before: &FastSet<Change>,
    is_approved: &dyn Fn(&str) -> bool,
) -> Gate {
    let Some(threshold) = policy else {
        return Gate::Open;
    };
    let new: Vec<Change> = changes(desired, observed, assignment)
        .into_iter()
        .filter(|c| !approved_before.contains(c))
        .collect();
    let managed = (desired.gateways.len() + assignment.agents.len()) as u64;
    let members = new.len() as u64;
    if !threshold.needed(members, managed) {
        return Gate::Open;
    }
    let digest = digest(&new);
    if is_approved(&digest) {
        return Gate::Approved {
            digest,
            changes: new,
        };
    }
    Gate::Waiting(Awaiting {
        digest,
        members,
        managed,
        threshold: *threshold,
    })
}

/// The admit predicate of a [`Gate`]: while waiting, only changes an
/// earlier approval covered may start (and the store, which is not a
/// member move); otherwise everything.
pub fn admits(
    gate: &Gate,
    desired: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    approved_before: &FastSet<Change>,
) -> impl Fn(Subject<'_>) -> bool + use<> {
    let allowed: Option<FastSet<(MemberKind, Name)>> = match gate {
        Gate::Waiting(_) => Some(
            changes(desired, observed, assignment)
                .into_iter()
                .filter(|c| approved_before.contains(c))
                .map(|c| (c.kind, c.name))
                .collect(),
        ),
        _ => None,
    };
    move |s| match (&allowed, s) {
        (None, _) | (_, Subject::Store) => true,
        (Some(set), Subject::Member(kind, name)) => set.contains(&(kind, name.clone())),
    }
}

#[cfg(test)]
mod tests;
