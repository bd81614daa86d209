//! The gates of `apply` and `plan`, and `handover approve` (docs/gates.md).
//!
//! Owns what `apply` checks before it asks or applies ([`check_apply`]: a
//! closed change window refuses unless `--ignore-windows`; a plan above
//! `policy.approval` needs an approved digest, or the interactive `yes`,
//! which is then recorded as the approval), the lines `plan` prints about
//! the gates ([`plan_notes`]), and recording an approval in the journal
//! ([`approve`]). Must not print or observe: the commands do.

use super::approvals::{self, FILE_NAME};
use super::{Decision, Inputs, decide, show};
use crate::hash::FastSet;
use crate::model::{Observed, Topology};
use crate::plan::approval::{Gate, is_digest};
use crate::state::journal::{self, Journal, Record};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// What `apply` may do after its gates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyGate {
    /// Lines to show before the question (stderr).
    pub notes: Vec<String>,
    /// The digest the interactive `yes` approves (recorded in the journal
    /// when the person answers yes).
    pub approve_on_yes: Option<String>,
}

/// The gates of an `apply --desired`: `Err` is the refusal to print (exit
/// code 6, nothing applied).
pub fn check_apply(
    desired: &Topology,
    start: &Observed,
    desired_paths: &[PathBuf],
    state_dir: &Path,
    now: DateTime<Utc>,
    ignore_windows: bool,
    auto_approve: bool,
) -> Result<ApplyGate, String> {
    let (assignment, _) =
        crate::assign::resolve_lenient(desired, start).map_err(|e| format!("error: {e}"))?;
    let (approved, problems) = if desired.policy.approval.is_some() {
        approvals::all(state_dir, desired_paths)
    } else {
        Default::default()
    };
    if let Some(p) = problems.into_iter().next() {
        return Err(format!("error: {p}. Nothing was applied."));
    }
    let d = decide(
        desired,
        start,
        &assignment,
        &Inputs {
            now,
            ignore_windows,
            approved_before: &FastSet::default(),
            approved: &approved,
        },
    );
    let mut out = ApplyGate::default();
    if d.window_closed() {
        return Err(format!(
            "error: outside the change window (policy.windows): no change may start now ({}); {}. Nothing was applied; run apply again then, or pass --ignore-windows to apply now.",
            show(now),
            next_opening(&d)
        ));
    }
    if d.window_ignored {
        out.notes.push(format!(
            "warning: outside the change window (policy.windows); applying anyway because of --ignore-windows; {}.",
            next_opening(&d)
        ));
    }
    match &d.gate {
        Gate::Open => {}
        Gate::Approved { digest, .. } => out.notes.push(format!(
            "approval: {digest} was approved by {}.",
            d.approver
                .as_ref()
                .map(|a| a.by.as_str())
                .filter(|b| !b.is_empty())
                .unwrap_or("an unknown user")
        )),
        Gate::Waiting(w) if auto_approve => {
            return Err(format!(
                "error: this plan moves {} of {} members, above policy.approval ({}); it needs approval of {} before --auto-approve may apply it. Approve it with `handover approve {} --target TARGET` (recorded in the journal with your user name), or add the digest to {FILE_NAME} beside the topology in git, then apply again. Nothing was applied.",
                w.members,
                w.managed,
                thresholds(&w.threshold),
                w.digest,
                w.digest
            ));
        }
        Gate::Waiting(w) => {
            out.notes.push(format!(
                "approval: this plan moves {} of {} members, above policy.approval ({}). Answering yes approves {} and records the approval in the journal with your user name.",
                w.members,
                w.managed,
                thresholds(&w.threshold),
                w.digest
            ));
            out.approve_on_yes = Some(w.digest.clone());
        }
    }
    Ok(out)
}

/// The lines `plan` prints about the gates (none when neither is
/// configured). Approvals are read from the approvals file only: `plan`
/// has no state directory.
pub fn plan_notes(
    desired: &Topology,
    observed: &Observed,
    desired_paths: &[PathBuf],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Ok((assignment, _)) = crate::assign::resolve_lenient(desired, observed) else {
        return out;
    };
    let approved = approvals::from_files(desired_paths)
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            (
                d,
                approvals::Approver {
                    by: format!("file {FILE_NAME}"),
                    at: None,
                },
            )
        })
        .collect();
    let d = decide(
        desired,
        observed,
        &assignment,
        &Inputs {
            now,
            ignore_windows: false,
            approved_before: &FastSet::default(),
            approved: &approved,
        },
    );
    if let Some(w) = &d.window {
        out.push(if w.open {
            format!(
                "Change window: open now ({}){}.",
                show(now),
                w.closes_at
                    .map(|c| format!("; it closes at {}", show(c)))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "Change window: closed now ({}); {}. reconcile and apply start no change until then.",
                show(now),
                next_opening(&d)
            )
        });
    }
    match &d.gate {
        Gate::Open => {}
        Gate::Approved { digest, changes } => out.push(format!(
            "Approval: {} members to move, approved: {digest} is in {FILE_NAME}.",
            changes.len()
        )),
        Gate::Waiting(w) => out.push(format!(
            "Approval needed: this plan moves {} of {} members, above policy.approval ({}). Digest: {}. Approve with `handover approve {} --target TARGET`, or add the digest to {FILE_NAME} beside the topology.",
            w.members,
            w.managed,
            thresholds(&w.threshold),
            w.digest,
            w.digest
        )),
    }
    out
}

/// Records the approval of `digest` in the journal of `state_dir`, with
/// the OS user and the time.
pub fn approve(state_dir: &Path, digest: &str, target: &str) -> Result<String, String> {
    if !is_digest(digest) {
        return Err(format!(
            "error: {digest:?} is not an approval digest; expected fnv1a64: and 16 hex digits, as `handover plan` prints it after \"Digest:\". Nothing was recorded."
        ));
    }
    let user = crate::run::origin::os_user();
    let mut j = Journal::open(state_dir).map_err(|e| {
        format!(
            "error: cannot open the journal in {}: {e}",
            state_dir.display()
        )
    })?;
    j.append(&Record::Approved {
        at: journal::now_rfc3339(),
        digest: digest.to_string(),
        user: user.clone(),
        target: target.to_string(),
    })
    .map_err(|e| {
        format!(
            "error: cannot write the journal in {}: {e}",
            state_dir.display()
        )
    })?;
    Ok(user)
}

fn next_opening(d: &Decision) -> String {
    match d.window.as_ref().and_then(|w| w.next_open) {
        Some(t) => format!("the next window opens at {}", show(t)),
        None => "no window opens within the next 400 days".to_string(),
    }
}

fn thresholds(a: &crate::model::Approval) -> String {
    let mut v = Vec::new();
    if let Some(n) = a.above_members {
        v.push(format!("aboveMembers {n}"));
    }
    if let Some(p) = a.above_percent {
        v.push(format!("abovePercent {p}"));
    }
    v.join(", ")
}
