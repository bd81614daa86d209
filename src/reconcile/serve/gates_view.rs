//! The change window and the approval gate on `/status` and the page
//! (docs/gates.md).
//!
//! Owns [`GatesView`] (what a pass decided: `window`, `approval`) and the
//! views `/status` carries. Its place in the status document is
//! `overlay::gates`, its gauges are in `metrics` and its page section in
//! `html`, each beside the document it writes. Must not decide anything:
//! the pass hands in what the gates decided.

use crate::model::Approval;
use serde::{Deserialize, Serialize};

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
