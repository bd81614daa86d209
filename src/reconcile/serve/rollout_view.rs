//! What `/status`, the status page and `/metrics` show of a progressive
//! rollout (docs/rollouts.md): the step, the phase, the soak countdown and
//! the analysis.
//!
//! Owns [`RolloutView`] (the `rollout` object of `/status`, absent without
//! `policy.rollout`). Its place in the status document (a stopped rollout
//! makes the sync status `Degraded`) is `overlay::rollout`, the page's
//! "Rollout" section is in `html` and its gauges in `metrics`. Must not
//! decide anything about the rollout (that is `plan::rollout`) and must not
//! do I/O.

use crate::plan::rollout::{Phase, Status as RolloutStatus};
use crate::state::rfc3339;
use serde::Serialize;
use std::time::{Duration, UNIX_EPOCH};

/// The `rollout` object of `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutView {
    /// The current step, 1-based.
    pub step: usize,
    /// Steps in the policy.
    pub steps: usize,
    /// `moving`, `soaking`, `paused`, `analysisFailed`, `rollingBack`,
    /// `rolledBack` or `complete`.
    pub phase: &'static str,
    /// When the soak ends (RFC 3339), while soaking.
    pub soak_until: Option<String>,
    /// The analysis of the last pass.
    pub analysis: AnalysisView,
    /// Why the rollout stopped, when it did.
    pub reason: Option<String>,
}

/// `rollout.analysis` of `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnalysisView {
    /// `pending`, `passing` or `failed`.
    pub verdict: &'static str,
    /// Why it failed.
    pub reasons: Vec<String>,
}

impl RolloutView {
    /// The view of a pass's rollout status (its clock is Unix seconds).
    pub fn of(s: &RolloutStatus) -> Self {
        RolloutView {
            step: s.step,
            steps: s.steps,
            phase: s.phase.as_str(),
            soak_until: s
                .soak_until
                .map(|t| rfc3339(UNIX_EPOCH + Duration::from_secs(t))),
            analysis: AnalysisView {
                verdict: s.analysis.verdict.as_str(),
                reasons: s.analysis.reasons.clone(),
            },
            reason: s.reason.clone(),
        }
    }

    /// True when the rollout stopped on a failed analysis (paused after
    /// it, rolling back, or rolled back): the estate needs a person.
    pub fn degraded(&self) -> bool {
        [Phase::AnalysisFailed, Phase::RollingBack, Phase::RolledBack]
            .iter()
            .any(|p| p.as_str() == self.phase)
    }
}

impl RolloutView {
    /// True while the rollout holds members back: not complete.
    pub fn under_way(&self) -> bool {
        self.phase != Phase::Complete.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rollout::{Verdict, VerdictKind};
    use crate::reconcile::serve::html::rollout_section as section;
    use crate::reconcile::serve::metrics::rollout as metrics;
    use crate::reconcile::serve::overlay::rollout as apply;
    use crate::reconcile::serve::status::{Status, SyncStatus};
    use std::time::SystemTime;

    fn status(phase: Phase) -> RolloutStatus {
        RolloutStatus {
            step: 2,
            steps: 3,
            phase,
            soak_until: Some(1_800_000_600),
            analysis: Verdict {
                verdict: VerdictKind::Failed,
                reasons: vec!["gateway gw9 <x>, a new primary, is down".into()],
                failing: Vec::new(),
            },
            reason: Some("gateway gw9 <x>, a new primary, is down".into()),
        }
    }

    #[test]
    fn a_failed_analysis_degrades_and_the_page_says_why() {
        let v = RolloutView::of(&status(Phase::AnalysisFailed));
        assert_eq!(v.soak_until.as_deref(), Some("2027-01-15T08:10:00Z"));
        let mut s = Status {
            sync: Some(SyncStatus::Progressing),
            ..Status::default()
        };
        apply(&mut s, Some(&v));
        assert_eq!(s.sync, Some(SyncStatus::Degraded));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["rollout"]["phase"], "analysisFailed");
        assert_eq!(json["rollout"]["analysis"]["verdict"], "failed");
        assert_eq!(json["rollout"]["soakUntil"], "2027-01-15T08:10:00Z");
        let mut o = String::new();
        section(&mut o, &s, UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        assert!(o.contains("data-testid=\"rollout-step\">2 of 3<"), "{o}");
        assert!(o.contains("(10m left)"), "{o}");
        assert!(o.contains("gw9 &lt;x&gt;"), "escaped: {o}");
        let mut m = String::new();
        metrics(&mut m, &s);
        assert!(m.contains("handover_rollout_step 2\n"), "{m}");
        assert!(
            m.contains("handover_rollout_phase{phase=\"analysisFailed\"} 1\n"),
            "{m}"
        );
    }

    #[test]
    fn a_rollout_under_way_is_not_synced_and_no_rollout_shows_nothing() {
        let mut s = Status {
            sync: Some(SyncStatus::Synced),
            ..Status::default()
        };
        apply(&mut s, Some(&RolloutView::of(&status(Phase::Paused))));
        assert_eq!(
            s.sync,
            Some(SyncStatus::OutOfSync),
            "a manual pause is not degraded"
        );
        s.sync = Some(SyncStatus::Synced);
        apply(&mut s, Some(&RolloutView::of(&status(Phase::Soaking))));
        assert_eq!(s.sync, Some(SyncStatus::Progressing));
        s.sync = Some(SyncStatus::Synced);
        apply(&mut s, Some(&RolloutView::of(&status(Phase::Complete))));
        assert_eq!(s.sync, Some(SyncStatus::Synced));
        apply(&mut s, None);
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("rollout").is_none(), "{json}");
        let mut o = String::new();
        section(&mut o, &s, SystemTime::now());
        metrics(&mut o, &s);
        assert!(o.is_empty());
    }
}
