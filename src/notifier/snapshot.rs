//! From the loop's `/status` document to the plain
//! [`Snapshot`](crate::notification::Snapshot) notifications are judged
//! from.
//!
//! Owns [`from_status`] only: which `/status` fields mean what for
//! notifications. Must not judge events or send anything.

use crate::diag::count;
use crate::notification::{RolloutPhase, Snapshot, SyncState};
use crate::reconcile::serve::status::{Status, SyncStatus};

/// The sync status as notifications name it.
pub fn sync_state(s: SyncStatus) -> SyncState {
    match s {
        SyncStatus::Synced => SyncState::Synced,
        SyncStatus::OutOfSync => SyncState::OutOfSync,
        SyncStatus::Progressing => SyncState::Progressing,
        SyncStatus::Degraded => SyncState::Degraded,
        SyncStatus::Suspended => SyncState::Suspended,
        SyncStatus::AwaitingApproval => SyncState::AwaitingApproval,
    }
}

/// The snapshot of `status` after a pass.
pub fn from_status(status: &Status) -> Snapshot {
    let sync = status.sync.map(sync_state);
    let reason = (sync == Some(SyncState::Degraded)).then(|| degraded_reason(status));
    let last = status.history.first();
    Snapshot {
        pass: status.passes,
        target: status.target.clone(),
        source: without_credentials(&status.source),
        command: "reconcile".to_string(),
        revision: status.revision.as_ref().map(|r| r.short.clone()),
        sync,
        reason,
        applied: status.last_pass.as_ref().map_or(0, |p| p.applied),
        moves: last.map_or(0, |h| h.moves),
        in_flight: status
            .in_flight
            .iter()
            .map(|f| f.name.to_string())
            .collect(),
        blocked: status
            .blocked
            .iter()
            .map(|b| (b.name.to_string(), b.reason.clone()))
            .collect(),
        pending: status.members.pending,
        stranded: status.members.stranded,
        awaiting_approval: status
            .approval
            .as_ref()
            .filter(|a| a.awaiting)
            .and_then(|a| a.digest.clone()),
        rollout: status
            .rollout
            .as_ref()
            .and_then(|r| RolloutPhase::parse(r.phase)),
        window_open: status.window.as_ref().map(|w| w.open),
        window_next: status.window.as_ref().and_then(|w| {
            if w.open {
                w.closes_at.clone()
            } else {
                w.next_open.clone()
            }
        }),
    }
}

/// `source` without a user or password written in a URL
/// (`https://user:token@host/repo.git` → `https://host/repo.git`):
/// notifications leave the estate, for Teams or Slack.
pub fn without_credentials(source: &str) -> String {
    let Some((scheme, rest)) = source.split_once("://") else {
        return source.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => source.to_string(),
    }
}

/// Why the estate is Degraded, in words: the last error, else the
/// stranded members, else the failed step.
fn degraded_reason(status: &Status) -> String {
    if let Some(e) = &status.last_error {
        return e.message.clone();
    }
    // A failed analysis or a rollback degrades the estate: say why.
    if let Some(why) = status.rollout.as_ref().and_then(|r| r.reason.clone()) {
        return why;
    }
    if status.members.stranded > 0 {
        return format!(
            "{} with no working parent",
            count(
                status.members.stranded,
                "member is stranded",
                "members are stranded"
            )
        );
    }
    "a step failed at the target; see the journal (handover history) and /status".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::plan::BlockedKind;
    use crate::reconcile::schedule::Trigger;
    use crate::reconcile::serve::status::{
        BlockedView, ErrorKind, ErrorView, InFlight, MemberCounts, PassView, RevisionView,
    };

    #[test]
    fn credentials_in_a_source_url_are_left_out() {
        assert_eq!(
            without_credentials(
                "https://ci:t0ken@git.contoso.local/scom/topology.git@main:topology"
            ),
            "https://git.contoso.local/scom/topology.git@main:topology"
        );
        assert_eq!(
            without_credentials("ssh://git@git.contoso.local/scom.git@main"),
            "ssh://git.contoso.local/scom.git@main"
        );
        for kept in [
            "desired/",
            "https://git.contoso.local/scom.git@main",
            "git@host:scom.git@main",
        ] {
            assert_eq!(without_credentials(kept), kept);
        }
    }

    #[test]
    fn the_fields_that_exist_today_are_carried() {
        let status = Status {
            source: "desired/".into(),
            target: "sim:estate.yaml".into(),
            revision: Some(RevisionView {
                id: "digest:1a2b3c4d".into(),
                short: "1a2b3c4".into(),
                since: "2026-12-07T22:00:00Z".into(),
            }),
            sync: Some(SyncStatus::Degraded),
            passes: 4,
            last_pass: Some(PassView {
                trigger: Trigger::Interval,
                started: "2026-12-07T22:00:00Z".into(),
                duration_seconds: 1.0,
                applied: 3,
            }),
            in_flight: vec![InFlight {
                name: Name::parse("web01.contoso.local").unwrap(),
                since: "2026-12-07T22:00:00Z".into(),
            }],
            blocked: vec![BlockedView {
                kind: BlockedKind::Agent,
                name: Name::parse("web02.contoso.local").unwrap(),
                reason: "its new primary is not ready".into(),
            }],
            members: MemberCounts {
                bridged: 1,
                pending: 1,
                blocked: 1,
                stranded: 2,
            },
            ..Status::default()
        };
        let s = from_status(&status);
        assert_eq!(s.pass, 4);
        assert_eq!(s.revision.as_deref(), Some("1a2b3c4"));
        assert_eq!(s.sync, Some(SyncState::Degraded));
        assert_eq!(
            s.reason.as_deref(),
            Some("2 members are stranded with no working parent")
        );
        assert_eq!(s.applied, 3);
        assert_eq!(s.in_flight, ["web01.contoso.local"]);
        assert_eq!(
            s.blocked.get("web02.contoso.local").map(String::as_str),
            Some("its new primary is not ready")
        );
        assert_eq!((s.pending, s.stranded), (1, 2));
        let with_error = Status {
            last_error: Some(ErrorView {
                kind: ErrorKind::Observe,
                message: "observe failed".into(),
                at: "2026-12-07T22:00:00Z".into(),
            }),
            ..status
        };
        assert_eq!(
            from_status(&with_error).reason.as_deref(),
            Some("observe failed")
        );
        assert_eq!(
            from_status(&Status::default()),
            Snapshot {
                command: "reconcile".into(),
                ..Snapshot::default()
            }
        );
    }

    #[test]
    fn every_rollout_phase_of_status_is_one_notifications_know() {
        for p in RolloutPhase::ALL {
            assert_eq!(RolloutPhase::parse(p.as_str()), Some(p), "{}", p.as_str());
        }
    }

    #[test]
    fn a_failed_rollout_is_carried_with_its_reason() {
        use crate::reconcile::serve::rollout_view::{AnalysisView, RolloutView};
        let status = Status {
            sync: Some(SyncStatus::Degraded),
            rollout: Some(RolloutView {
                step: 1,
                steps: 3,
                phase: "analysisFailed",
                soak_until: None,
                analysis: AnalysisView {
                    verdict: "failed",
                    reasons: vec!["gw9.contoso.local is down".into()],
                },
                reason: Some("step 1: gw9.contoso.local is down".into()),
            }),
            ..Status::default()
        };
        let s = from_status(&status);
        assert_eq!(s.rollout, Some(RolloutPhase::AnalysisFailed));
        assert_eq!(
            s.reason.as_deref(),
            Some("step 1: gw9.contoso.local is down")
        );
    }

    #[test]
    fn the_window_and_a_pending_approval_are_carried() {
        use crate::reconcile::serve::gates_view::{ApprovalView, WindowView};
        let status = Status {
            sync: Some(SyncStatus::AwaitingApproval),
            window: Some(WindowView {
                open: false,
                closes_at: None,
                next_open: Some("2026-12-08T21:00:00Z".into()),
            }),
            approval: Some(ApprovalView {
                awaiting: true,
                digest: Some("fnv1a64:0123456789abcdef".into()),
                members: 600,
                ..ApprovalView::default()
            }),
            ..Status::default()
        };
        let s = from_status(&status);
        assert_eq!(s.sync, Some(SyncState::AwaitingApproval));
        assert_eq!(s.window_open, Some(false));
        assert_eq!(s.window_next.as_deref(), Some("2026-12-08T21:00:00Z"));
        assert_eq!(
            s.awaiting_approval.as_deref(),
            Some("fnv1a64:0123456789abcdef")
        );
    }
}
