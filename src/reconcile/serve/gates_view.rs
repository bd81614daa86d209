//! The change window and the approval gate on `/status` and the page
//! (docs/gates.md).
//!
//! Owns [`GatesView`] (what a pass decided: `window`, `approval`), its
//! place in [`Status`] ([`record`], which also turns a pass held back by a
//! gate into `AwaitingApproval` or `OutOfSync` rather than `Synced`), and
//! the page section ([`section`]). Must not decide anything: the pass
//! hands in what [`crate::run::gates`] decided.

use super::page::escape as esc;
use super::status::{Status, SyncStatus};
use crate::model::Approval;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// `/status` `window`: `null` when no window is configured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// Changes may start now.
    pub open: bool,
    /// When open: when it closes (RFC 3339, UTC); `null` if not within
    /// 400 days.
    pub closes_at: Option<String>,
    /// When closed: when it next opens; `null` if not within 400 days.
    pub next_open: Option<String>,
}

/// The thresholds of `policy.approval`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdView {
    /// `aboveMembers`, if set.
    pub above_members: Option<u64>,
    /// `abovePercent`, if set.
    pub above_percent: Option<u8>,
}

impl From<Approval> for ThresholdView {
    fn from(a: Approval) -> Self {
        ThresholdView {
            above_members: a.above_members,
            above_percent: a.above_percent,
        }
    }
}

/// `/status` `approval`: `null` when no approval is configured or the last
/// plan was within the thresholds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    /// True while the plan waits for approval (nothing new starts).
    pub awaiting: bool,
    /// The digest to approve (`handover approve DIGEST`), or that was.
    pub digest: Option<String>,
    /// Members the plan would move.
    pub members: u64,
    /// The thresholds it is above.
    pub threshold: ThresholdView,
    /// Who approved (OS user of `handover approve`, or `file …`).
    pub approved_by: Option<String>,
    /// When (RFC 3339); `null` for the approvals file.
    pub approved_at: Option<String>,
}

/// What the gates decided in a pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatesView {
    /// The window status, when windows are configured.
    pub window: Option<WindowView>,
    /// The approval gate, when it applied.
    pub approval: Option<ApprovalView>,
}

/// Puts a pass's gates into `s`, after its sync status was decided: a pass
/// whose changes await approval is `AwaitingApproval`, and one that a
/// closed window left with nothing to do is `OutOfSync` (the estate still
/// differs); `Degraded` and `Suspended` stay.
pub fn record(s: &mut Status, g: Option<&GatesView>, held: u64) {
    let Some(g) = g else { return };
    s.window = g.window.clone();
    s.approval = g.approval.clone();
    let holding = matches!(
        s.sync,
        Some(SyncStatus::Synced | SyncStatus::OutOfSync | SyncStatus::Progressing)
    );
    if holding && g.approval.as_ref().is_some_and(|a| a.awaiting) {
        s.sync = Some(SyncStatus::AwaitingApproval);
    } else if s.sync == Some(SyncStatus::Synced) && held > 0 {
        s.sync = Some(SyncStatus::OutOfSync);
    }
}

/// The gauges of `/metrics` (name, help, value): whether the change window
/// is open and whether a plan awaits approval, each only when configured.
pub fn gauges(s: &Status) -> Vec<(&'static str, &'static str, f64)> {
    let mut out = Vec::new();
    if let Some(w) = &s.window {
        out.push((
            "handover_reconcile_window_open",
            "1 while the change window (policy.windows) lets changes start, 0 while it is closed.",
            if w.open { 1.0 } else { 0.0 },
        ));
    }
    if let Some(a) = &s.approval {
        out.push((
            "handover_reconcile_approval_awaiting",
            "1 while a plan above policy.approval waits for handover approve, 0 once approved.",
            if a.awaiting { 1.0 } else { 0.0 },
        ));
    }
    out
}

/// The page section: the window and a pending approval, when configured.
pub fn section(o: &mut String, s: &Status) {
    if s.window.is_none() && s.approval.is_none() {
        return;
    }
    let _ = write!(
        o,
        "<section id=\"gates\" data-testid=\"gates\" aria-labelledby=\"gates-h\"><h2 id=\"gates-h\">Change window and approval</h2><dl>"
    );
    if let Some(w) = &s.window {
        let (state, when) = if w.open {
            (
                "open",
                w.closes_at.as_deref().map(|c| format!("closes {c}")),
            )
        } else {
            (
                "closed",
                Some(
                    w.next_open
                        .as_deref()
                        .map_or("does not open within 400 days".to_string(), |n| {
                            format!("next opens {n}")
                        }),
                ),
            )
        };
        let _ = write!(
            o,
            "<dt>Change window</dt><dd data-testid=\"window\" data-open=\"{}\">{state}{}</dd>",
            w.open,
            when.map(|w| format!(", {}", esc(&w))).unwrap_or_default()
        );
    }
    if let Some(a) = &s.approval {
        let digest = esc(a.digest.as_deref().unwrap_or(""));
        if a.awaiting {
            let _ = write!(
                o,
                "<dt>Approval</dt><dd data-testid=\"approval\" data-awaiting=\"true\">awaiting approval: {} members would move; approve with <code>handover approve {digest}</code></dd>",
                a.members
            );
        } else {
            let _ = write!(
                o,
                "<dt>Approval</dt><dd data-testid=\"approval\" data-awaiting=\"false\">approved {digest} by {}</dd>",
                esc(a.approved_by.as_deref().unwrap_or("unknown"))
            );
        }
    }
    o.push_str("</dl></section>");
}
