//! What `/status`, the status page and `/metrics` show of a progressive
//! rollout (docs/rollouts.md): the step, the phase, the soak countdown and
//! the analysis.
//!
//! Owns [`RolloutView`] (the `rollout` object of `/status`, absent without
//! `policy.rollout`), [`apply`] (puts it in a status document; a stopped
//! rollout makes the sync status `Degraded`), the page's "Rollout" section
//! and its metrics. Must not decide anything about the rollout (that is
//! `plan::rollout`) and must not do I/O.

use super::page::escape;
use super::status::{Status, SyncStatus};
use crate::plan::rollout::{Phase, Status as RolloutStatus};
use crate::state::rfc3339;
use serde::Serialize;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Puts the pass's rollout into the status document. A rollout stopped by
/// a failed analysis makes it `Degraded`; one still under way (members
/// held back) is not `Synced`: `Progressing` while it moves or soaks,
/// `OutOfSync` while it waits for `handover resume`.
pub fn apply(s: &mut Status, rollout: Option<&RolloutView>) {
    s.rollout = rollout.cloned();
    let (Some(r), Some(sync)) = (rollout, s.sync) else {
        return;
    };
    s.sync = Some(if r.degraded() {
        SyncStatus::Degraded
    } else if sync == SyncStatus::Synced && r.under_way() {
        if r.phase == Phase::Paused.as_str() {
            SyncStatus::OutOfSync
        } else {
            SyncStatus::Progressing
        }
    } else {
        sync
    });
}

/// The page's "Rollout" section; nothing without a rollout.
pub fn section(o: &mut String, s: &Status, now: SystemTime) {
    let Some(r) = &s.rollout else {
        return;
    };
    let _ = write!(
        o,
        "<section id=\"rollout\" data-testid=\"rollout\" aria-labelledby=\"rollout-h\">\
         <h2 id=\"rollout-h\">Rollout</h2><dl class=\"facts\">\
         <div><dt>Step</dt><dd data-testid=\"rollout-step\">{} of {}</dd></div>\
         <div><dt>Phase</dt><dd data-testid=\"rollout-phase\" data-phase=\"{}\">{}</dd></div>",
        r.step,
        r.steps,
        r.phase,
        phase_words(r.phase)
    );
    if let Some(until) = &r.soak_until {
        let left = countdown(until, now);
        let _ = write!(
            o,
            "<div><dt>Soak ends</dt><dd data-testid=\"rollout-soak\">{} ({left} left)</dd></div>",
            escape(until)
        );
    }
    let _ = write!(
        o,
        "<div><dt>Analysis</dt><dd data-testid=\"rollout-analysis\" data-verdict=\"{}\">{}</dd></div></dl>",
        r.analysis.verdict, r.analysis.verdict
    );
    if let Some(reason) = &r.reason {
        let _ = write!(
            o,
            "<p class=\"meaning\" data-testid=\"rollout-reason\">{}</p>",
            escape(reason)
        );
    }
    o.push_str("</section>");
}

/// The phase as a sentence for the page.
fn phase_words(phase: &str) -> &'static str {
    match phase {
        "moving" => "moving this step's members",
        "soaking" => "soaking: holding and analysing",
        "paused" => "paused: waiting for handover resume",
        "analysisFailed" => "stopped: the analysis failed; waiting for handover resume",
        "rollingBack" => "rolling back to the parents from before",
        "rolledBack" => "rolled back; waiting for handover resume",
        _ => "complete",
    }
}

/// `12m 5s` from `now` to the RFC 3339 time `until` (`0s` once past).
fn countdown(until: &str, now: SystemTime) -> String {
    let end = humantime::parse_rfc3339(until).unwrap_or(now);
    let left = end.duration_since(now).unwrap_or_default();
    humantime::format_duration(Duration::from_secs(left.as_secs())).to_string()
}

/// The rollout's gauges: its step, and 1 for its phase.
pub fn metrics(o: &mut String, s: &Status) {
    let Some(r) = &s.rollout else {
        return;
    };
    let g = "handover_rollout_step";
    super::metrics::head(o, g, "gauge", "The rollout's current step, from 1.");
    super::metrics::sample(o, g, &[], r.step as f64);
    let p = "handover_rollout_phase";
    super::metrics::head(
        o,
        p,
        "gauge",
        "1 for the rollout's phase, 0 for the others.",
    );
    for phase in [
        "moving",
        "soaking",
        "paused",
        "analysisFailed",
        "rollingBack",
        "rolledBack",
        "complete",
    ] {
        let v = if r.phase == phase { 1.0 } else { 0.0 };
        super::metrics::sample(o, p, &[("phase", phase)], v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rollout::{Verdict, VerdictKind};

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
