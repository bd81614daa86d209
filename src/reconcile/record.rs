//! Recording a pass: one call that brings `/status` and `/metrics` up to
//! date from what the pass found and did.
//!
//! Owns the translation from a plan and an executor report (plus the
//! revision bookkeeping and the last error) to [`Status`] fields and
//! metric counters, including since-when for members in a bridge, and
//! [`record_source`], what the driver knows before a pass starts (the
//! revision in use, a refusal, suspension). The gauges of `/metrics` are
//! read from the status at scrape time. The wall-clock time comes in as an
//! argument. Must not observe, plan or apply.

use super::schedule::Trigger;
use super::serve::metrics::Metrics;
use super::serve::status::{
    BlockedView, ErrorKind, ErrorView, HISTORY_CAP, InFlight, PassFacts, PassSummary, PassView,
    RefusedView, RevisionView, Status, StatusHandle, SyncStatus, decide,
};
use super::source::Revision;
use super::source::revision::Refusal;
use crate::execute::EngineReport;
use crate::plan::Plan;
use crate::state::rfc3339;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Everything a finished pass reports.
#[derive(Clone, Debug)]
pub struct PassRecord<'a> {
    /// What started it.
    pub trigger: Trigger,
    /// When it started (wall clock).
    pub started: SystemTime,
    /// How long it took.
    pub took: Duration,
    /// The revision in use (the last good one), if any loaded yet.
    pub revision: Option<&'a Revision>,
    /// The newest revision's refusal, while the source points at it.
    pub refused: Option<&'a Refusal>,
    /// The plan made from the pass's observation; `None` when the pass
    /// failed before planning.
    pub plan: Option<&'a Plan>,
    /// The executor's report; `None` when nothing was applied (suspended,
    /// empty plan, or failed before applying).
    pub report: Option<&'a EngineReport>,
    /// Members with no working parent, when the target knows.
    pub stranded: u64,
    /// Applying was suspended.
    pub suspended: bool,
    /// The pass applied its plan and the estate converged.
    pub converged: bool,
    /// The pass's error, if it failed.
    pub error: Option<(ErrorKind, String)>,
    /// The gates' view and the members they held back (docs/gates.md).
    pub gates: Option<&'a (super::serve::gates_view::GatesView, u64)>,
}

/// Publishes what the driver knows before a pass starts, at wall time
/// `now`: the revision in use (with since-when, when it is new), the
/// newest revision's refusal, and whether applying is suspended. So
/// `/status` names the revision a pass is about to apply from its start.
pub fn record_source(
    status: &StatusHandle,
    revision: Option<&Revision>,
    refused: Option<&Refusal>,
    suspended: bool,
    now: SystemTime,
) {
    status.update(|s| {
        set_revision(s, revision, now);
        s.refused = refused.map(refused_view);
        s.suspended = suspended;
        // A refused revision needs a person from the moment it is refused.
        if s.refused.is_some() && s.sync.is_some() {
            s.sync = Some(SyncStatus::Degraded);
        }
    });
}

/// Sets the revision in use; its since-when changes only with its id.
fn set_revision(s: &mut Status, revision: Option<&Revision>, now: SystemTime) {
    if let Some(rev) = revision
        && s.revision.as_ref().map(|r| &r.id) != Some(&rev.id)
    {
        s.revision = Some(RevisionView {
            id: rev.id.clone(),
            short: rev.short.clone(),
            since: rfc3339(now),
        });
    }
}

fn refused_view(r: &Refusal) -> RefusedView {
    RefusedView {
        revision: r.revision.clone(),
        errors: r.diagnostics.0.iter().map(ToString::to_string).collect(),
    }
}

/// Updates `status` and `metrics` for a finished pass at wall time `now`.
/// The observation counts as done (`ready`) once a pass got as far as a
/// plan. A pass without a plan (it failed) keeps the previous in-flight and
/// blocked lists, which are still the best knowledge.
pub fn record_pass(status: &StatusHandle, metrics: &Metrics, p: &PassRecord<'_>, now: SystemTime) {
    let now_s = rfc3339(now);
    let refused_now = p.refused.is_some();
    metrics.pass_finished(p.trigger, p.took);
    if let Some(r) = p.report {
        metrics.record_steps(r);
    }
    if let Some((kind, _)) = &p.error {
        metrics.error(*kind);
    }
    if let Some(r) = p.report {
        for s in &r.steps {
            if matches!(s.outcome, crate::execute::StepOutcome::Failed { .. }) {
                metrics.error(ErrorKind::Apply);
            }
        }
    }
    status.update(|s: &mut Status| {
        s.passes += 1;
        s.suspended = p.suspended;
        s.last_pass = Some(PassView {
            trigger: p.trigger,
            started: rfc3339(p.started),
            duration_seconds: p.took.as_secs_f64(),
            applied: p.report.map_or(0, |r| r.steps_applied),
        });
        set_revision(s, p.revision, now);
        s.refused = p.refused.map(refused_view);
        s.current = None;
        if let Some(plan) = p.plan {
            s.ready = true;
            s.sync_revision = p.revision.map(|r| r.id.clone());
            s.blocked = plan.blocked.iter().map(BlockedView::from).collect();
            if let Some(r) = p.report {
                let before: BTreeMap<_, _> =
                    s.in_flight.drain(..).map(|f| (f.name, f.since)).collect();
                s.in_flight = r
                    .in_bridge
                    .iter()
                    .map(|n| InFlight {
                        name: n.clone(),
                        since: before.get(n).cloned().unwrap_or_else(|| now_s.clone()),
                    })
                    .collect();
                s.members.pending = r.pending.len() as u64;
            } else if plan.steps.is_empty() {
                s.in_flight.clear();
                s.members.pending = 0;
            }
            s.members.bridged = s.in_flight.len() as u64;
            s.members.blocked = plan.blocked.len() as u64;
        }
        s.members.stranded = p.stranded;
        s.last_error = match &p.error {
            Some((kind, message)) => Some(ErrorView {
                kind: *kind,
                message: message.clone(),
                at: now_s.clone(),
            }),
            None if refused_now => s.last_error.clone(),
            None => None,
        };
        if s.ready {
            let facts = match p.plan {
                Some(plan) => PassFacts {
                    converged: p.converged,
                    ..PassFacts::from_pass(
                        &plan.summary,
                        p.report,
                        p.stranded,
                        p.suspended,
                        p.error.is_some() || refused_now,
                    )
                },
                None => PassFacts {
                    error: true,
                    ..PassFacts::default()
                },
            };
            let mut facts = facts;
            facts.in_bridge = facts.in_bridge.max(s.in_flight.len() as u64);
            s.sync = Some(decide(&facts));
            super::serve::overlay::gates(s, p.gates.map(|g| &g.0), p.gates.map_or(0, |g| g.1));
        }
        s.history.insert(
            0,
            PassSummary {
                pass: s.passes,
                trigger: p.trigger,
                started: rfc3339(p.started),
                duration_seconds: p.took.as_secs_f64(),
                revision: p.revision.map(|r| r.short.clone()),
                sync: s.sync,
                changes: p.plan.map_or(0, |pl| pl.summary.changes),
                moves: p.plan.map_or(0, |pl| pl.summary.moves),
                applied: p.report.map_or(0, |r| r.steps_applied),
                blocked: p.plan.map_or(0, |pl| pl.blocked.len() as u64),
                error: p.error.as_ref().map(|(_, m)| m.clone()),
            },
        );
        s.history.truncate(HISTORY_CAP);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::execute::{StepOutcome, StepRecord};
    use crate::name::Name;
    use crate::plan::{BlockReason, Blocked, BlockedKind, ServerKind, Summary};
    use crate::reconcile::serve::status::SyncStatus;
    use std::path::PathBuf;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn rev(id: &str) -> Revision {
        Revision {
            id: id.into(),
            short: id[..4].into(),
            files: PathBuf::from("desired.yaml"),
            checkout: None,
        }
    }

    fn plan(changes: u64, blocked: Vec<Blocked>) -> Plan {
        let mut p = Plan::new(Vec::new(), blocked);
        p.summary = Summary {
            changes,
            moves: changes,
            ..p.summary
        };
        p
    }

    fn pass<'a>(
        revision: &'a Revision,
        plan: Option<&'a Plan>,
        report: Option<&'a EngineReport>,
    ) -> PassRecord<'a> {
        PassRecord {
            trigger: Trigger::Interval,
            started: SystemTime::UNIX_EPOCH,
            took: Duration::from_millis(300),
            revision: Some(revision),
            refused: None,
            plan,
            report,
            stranded: 0,
            suspended: false,
            converged: false,
            error: None,
            gates: None,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
    }

    #[test]
    fn in_flight_members_keep_their_since_and_status_follows_the_passes() {
        let status = StatusHandle::default();
        let metrics = Metrics::new();
        let r1 = rev("aaaaaaaa");
        let blocked = Blocked::new(
            BlockedKind::Agent,
            name("db01.contoso.local"),
            BlockReason::ParentDown {
                parent: name("gw9.contoso.local"),
                parent_kind: ServerKind::Gateway,
            },
        );
        let p1 = plan(4, vec![blocked]);
        let report1 = EngineReport {
            steps: vec![StepRecord {
                id: 1,
                action: "set_parents",
                name: name("web01.contoso.local"),
                outcome: StepOutcome::Applied,
                started: Some(0.0),
                finished: Some(0.1),
                attempts: 1,
            }],
            in_bridge: vec![name("web01.contoso.local")],
            pending: vec![name("web01.contoso.local")],
            steps_applied: 1,
            ..EngineReport::default()
        };
        record_pass(
            &status,
            &metrics,
            &pass(&r1, Some(&p1), Some(&report1)),
            at(0),
        );
        let s = status.snapshot();
        assert!(s.ready);
        assert_eq!(s.sync, Some(SyncStatus::Progressing));
        assert_eq!(s.in_flight.len(), 1);
        let since = s.in_flight[0].since.clone();
        assert_eq!(
            s.blocked[0].reason,
            "its new parent gateway gw9.contoso.local is down; bring it up, then plan again"
        );
        assert_eq!(s.members.bridged, 1);
        assert_eq!(s.members.pending, 1);
        assert_eq!(s.members.blocked, 1);

        // Still in its bridge a pass later: same since.
        let report2 = EngineReport {
            in_bridge: vec![name("web01.contoso.local")],
            ..EngineReport::default()
        };
        let p2 = plan(2, Vec::new());
        record_pass(
            &status,
            &metrics,
            &pass(&r1, Some(&p2), Some(&report2)),
            at(60),
        );
        assert_eq!(status.snapshot().in_flight[0].since, since);

        // Converged.
        let p3 = plan(0, Vec::new());
        record_pass(&status, &metrics, &pass(&r1, Some(&p3), None), at(120));
        let s = status.snapshot();
        assert_eq!(s.sync, Some(SyncStatus::Synced));
        assert!(s.in_flight.is_empty() && s.blocked.is_empty());
        assert_eq!(s.passes, 3);
        assert_eq!(s.revision.as_ref().unwrap().id, "aaaaaaaa");
        // The history lists every pass, newest first.
        let h: Vec<_> = s.history.iter().map(|h| (h.pass, h.sync)).collect();
        assert_eq!(h[0], (3, Some(SyncStatus::Synced)));
        assert_eq!(h.len(), 3);
        assert_eq!(s.history[0].revision.as_deref(), Some("aaaa"));
        let text = metrics.encode(&status.snapshot());
        assert!(
            text.contains("handover_reconcile_sync_status{status=\"Synced\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("handover_reconcile_members{state=\"bridged\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_revision_degrades_and_keeps_the_last_good_one() {
        let status = StatusHandle::default();
        let metrics = Metrics::new();
        let good = rev("bbbbbbbb");
        let empty = plan(0, Vec::new());
        record_pass(&status, &metrics, &pass(&good, Some(&empty), None), at(0));
        let refusal = Refusal {
            revision: "cccccccc".into(),
            diagnostics: Diagnostic::general("c.yaml: unknown parent 'gw9'").into(),
        };
        let mut p = pass(&good, Some(&empty), None);
        p.refused = Some(&refusal);
        p.error = Some((ErrorKind::Invalid, "revision cccccccc refused".into()));
        record_pass(&status, &metrics, &p, at(30));
        let s = status.snapshot();
        assert_eq!(s.sync, Some(SyncStatus::Degraded));
        assert_eq!(s.revision.as_ref().unwrap().id, "bbbbbbbb");
        let r = s.refused.unwrap();
        assert_eq!(r.revision, "cccccccc");
        assert_eq!(r.errors, ["c.yaml: unknown parent 'gw9'"]);
        assert_eq!(s.last_error.unwrap().kind, ErrorKind::Invalid);
        assert!(
            metrics
                .encode(&status.snapshot())
                .contains("handover_reconcile_errors_total{kind=\"invalid\"} 1")
        );
    }

    #[test]
    fn a_failed_observation_is_degraded_but_not_ready_before_the_first() {
        let status = StatusHandle::default();
        let metrics = Metrics::new();
        let r = rev("dddddddd");
        let mut p = pass(&r, None, None);
        p.error = Some((ErrorKind::Observe, "target unreachable".into()));
        record_pass(&status, &metrics, &p, at(0));
        let s = status.snapshot();
        assert!(!s.ready);
        assert_eq!(s.sync, None);
        assert_eq!(s.last_error.unwrap().message, "target unreachable");

        let empty = plan(0, Vec::new());
        record_pass(&status, &metrics, &pass(&r, Some(&empty), None), at(10));
        record_pass(&status, &metrics, &p, at(20));
        assert_eq!(status.snapshot().sync, Some(SyncStatus::Degraded));
        record_pass(&status, &metrics, &pass(&r, Some(&empty), None), at(30));
        let s = status.snapshot();
        assert_eq!(s.sync, Some(SyncStatus::Synced));
        assert!(s.last_error.is_none(), "a successful pass clears the error");
    }

    #[test]
    fn a_pass_that_converged_is_synced_at_once_and_the_revision_shows_before_it() {
        let status = StatusHandle::default();
        let metrics = Metrics::new();
        let old = rev("ffffffff");
        let empty = plan(0, Vec::new());
        record_pass(&status, &metrics, &pass(&old, Some(&empty), None), at(0));
        // A new revision: published before its pass runs, with its since.
        let new = rev("12345678");
        record_source(&status, Some(&new), None, false, at(30));
        let s = status.snapshot();
        let since = s.revision.as_ref().unwrap().since.clone();
        assert_eq!(s.revision.unwrap().id, "12345678");
        assert_eq!(
            s.sync_revision.as_deref(),
            Some("ffffffff"),
            "not planned yet"
        );
        // Its pass applied everything and converged.
        let p = plan(6, Vec::new());
        let report = EngineReport {
            steps_applied: 4,
            awaits_satisfied: 2,
            ..EngineReport::default()
        };
        let mut record = pass(&new, Some(&p), Some(&report));
        record.converged = true;
        record_pass(&status, &metrics, &record, at(90));
        let s = status.snapshot();
        assert_eq!(s.sync, Some(SyncStatus::Synced));
        assert_eq!(s.sync_revision.as_deref(), Some("12345678"));
        assert_eq!(
            s.revision.unwrap().since,
            since,
            "adopted at 30 s, not 90 s"
        );
        // Without the final check it is only Progressing.
        record.converged = false;
        record_pass(&status, &metrics, &record, at(120));
        assert_eq!(status.snapshot().sync, Some(SyncStatus::Progressing));
    }

    #[test]
    fn suspended_passes_report_suspended() {
        let status = StatusHandle::default();
        let metrics = Metrics::new();
        let r = rev("eeeeeeee");
        let p1 = plan(3, Vec::new());
        let mut p = pass(&r, Some(&p1), None);
        p.suspended = true;
        record_pass(&status, &metrics, &p, at(0));
        let s = status.snapshot();
        assert_eq!(s.sync, Some(SyncStatus::Suspended));
        assert!(s.suspended);
    }
}
