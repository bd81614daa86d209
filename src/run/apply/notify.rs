//! Notifications from `apply` (docs/notifications.md, "From apply"): the
//! receivers of `policy.notifications` hear of an apply run as they hear
//! of a reconcile pass, through the same [`Notifier`] and payloads, with
//! `command: "apply"`.
//!
//! Owns which events one apply run means ([`held`], [`started`],
//! [`nothing_to_apply`], [`finished`]: pure, unit-tested) and [`Notices`],
//! which queues them and, at the end, waits at most [`GRACE`] for the
//! deliveries in flight. Delivery never blocks or fails the apply: a
//! receiver that fails or never answers costs at most [`GRACE`] at exit
//! and a warning. Must not judge the apply itself, print, or decide the
//! exit code.

use super::RunResult;
use crate::diag::count;
use crate::model::notify::{Event, Receiver};
use crate::notification::{Member, Notification, Snapshot, SyncState};
use crate::notifier::Notifier;
use crate::notifier::retry::Delivery;
use crate::plan::{Action, Plan};
use crate::verdict::Verdict;
use std::time::Duration;

/// How long `apply` waits at exit for notifications still queued or being
/// sent (retries included) before it ends and says which were dropped.
pub const GRACE: Duration = Duration::from_secs(10);

/// The start of the refusal of a closed change window (run::gates).
const WINDOW_REFUSAL: &str = "outside the change window";

/// The notifications of one apply run, queued as it goes.
pub struct Notices {
    /// `None` when the topology names no receiver.
    notifier: Option<Notifier>,
    /// `policy.notifications` of the desired topology.
    receivers: Vec<Receiver>,
    /// What every notification of this run says of where it comes from.
    base: Snapshot,
}

impl Notices {
    /// The notices of an apply of `revision` from `source` (the desired
    /// paths or the plan file) to `target`, for `receivers`.
    pub fn new(receivers: &[Receiver], target: &str, source: String, revision: &str) -> Notices {
        let delivery = Delivery {
            grace: GRACE,
            ..Delivery::default()
        };
        Notices {
            notifier: (!receivers.is_empty()).then(|| {
                Notifier::new(
                    delivery,
                    std::sync::Arc::new(crate::reconcile::serve::metrics::Metrics::new()),
                )
            }),
            receivers: receivers.to_vec(),
            base: Snapshot {
                pass: 1,
                target: target.to_string(),
                source: crate::notifier::snapshot::without_credentials(&source),
                command: "apply".to_string(),
                revision: Some(revision.to_string()),
                ..Snapshot::default()
            },
        }
    }

    /// Queues `notes` (never waits on a receiver).
    fn queue(&self, rt: &tokio::runtime::Runtime, notes: Vec<Notification>) {
        if let Some(n) = &self.notifier {
            let _inside = rt.enter();
            n.queue(notes, &self.receivers);
        }
    }

    /// A gate refused the apply with `refusal` (nothing applied).
    pub fn held(&self, rt: &tokio::runtime::Runtime, refusal: &str) {
        self.queue(rt, held(&self.base, refusal, &now()));
    }

    /// The plan had no step to apply.
    pub fn nothing_to_apply(&self, rt: &tokio::runtime::Runtime, plan: &Plan) {
        self.queue(rt, nothing_to_apply(&self.base, plan, &now()));
    }

    /// The run starts applying `plan`.
    pub fn started(&self, rt: &tokio::runtime::Runtime, plan: &Plan) {
        self.queue(rt, started(&self.base, plan, &now()));
    }

    /// The run of `plan` ended with `result`.
    pub fn finished(&self, rt: &tokio::runtime::Runtime, plan: &Plan, result: &RunResult) {
        self.queue(rt, finished(&self.base, plan, result, &now()));
    }

    /// Waits at most [`GRACE`] for the deliveries in flight; the warnings
    /// to show for receivers whose notifications did not go out in time.
    pub fn end(&self, rt: &tokio::runtime::Runtime) -> Vec<String> {
        let Some(n) = &self.notifier else {
            return Vec::new();
        };
        rt.block_on(n.finish())
            .into_iter()
            .map(|(receiver, left)| {
                format!(
                    "warning: {} to receiver {receiver} not delivered within {} s of the end of the apply (dropped; the apply itself is unaffected)",
                    count(left as u64, "notification", "notifications"),
                    GRACE.as_secs()
                )
            })
            .collect()
    }
}

impl Notices {
    /// [`Notices::end`], the warnings shown to the person.
    pub fn close(&self, rt: &tokio::runtime::Runtime, ui: &mut dyn super::ui::Ui) {
        for w in self.end(rt) {
            ui.note(&w);
        }
    }
}

fn now() -> String {
    crate::notifier::now_rfc3339()
}

/// `base` with the sync status `sync`.
fn at(base: &Snapshot, sync: SyncState) -> Snapshot {
    Snapshot {
        sync: Some(sync),
        ..base.clone()
    }
}

/// A gate refused the apply: `windowClosed` for a closed change window,
/// else `awaitingApproval` (an approval missing, or the approvals file
/// unreadable). The message is the refusal the person saw.
pub fn held(base: &Snapshot, refusal: &str, when: &str) -> Vec<Notification> {
    let why = refusal.trim_start_matches("error: ").to_string();
    let (event, sync) = if why.starts_with(WINDOW_REFUSAL) {
        (Event::WindowClosed, SyncState::OutOfSync)
    } else {
        (Event::AwaitingApproval, SyncState::AwaitingApproval)
    };
    vec![Notification::new(
        event,
        &at(base, sync),
        format!("apply held: {why}"),
        Vec::new(),
        when,
    )]
}

/// `blocked` for the plan's blocked members, if any.
fn blocked(now: &Snapshot, plan: &Plan, when: &str) -> Option<Notification> {
    if plan.blocked.is_empty() {
        return None;
    }
    let members: Vec<Member> = plan
        .blocked
        .iter()
        .map(|b| Member {
            name: b.name.to_string(),
            reason: Some(b.reason.to_string()),
        })
        .collect();
    Some(Notification::new(
        Event::Blocked,
        now,
        format!(
            "{} blocked: apply cannot start their change",
            count(members.len() as u64, "member", "members")
        ),
        members,
        when,
    ))
}

/// The plan had no step: only its blocked members are news.
pub fn nothing_to_apply(base: &Snapshot, plan: &Plan, when: &str) -> Vec<Notification> {
    blocked(&at(base, SyncState::OutOfSync), plan, when)
        .into_iter()
        .collect()
}

/// The members whose parents `plan` writes, in plan order, once each.
fn moving(plan: &Plan) -> Vec<Member> {
    let mut seen = std::collections::BTreeSet::new();
    plan.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::SetParents { name, .. } if seen.insert(name.clone()) => {
                Some(Member::named(name.as_str()))
            }
            _ => None,
        })
        .collect()
}

/// The run starts: `progressing` (the estate starts changing), and
/// `blocked` for what it cannot start.
pub fn started(base: &Snapshot, plan: &Plan, when: &str) -> Vec<Notification> {
    let now = Snapshot {
        moves: plan.summary.moves,
        ..at(base, SyncState::Progressing)
    };
    let members = moving(plan);
    let mut out = vec![Notification::new(
        Event::Progressing,
        &now,
        format!(
            "apply started changing the estate: {} to move, {}",
            count(members.len() as u64, "member", "members"),
            count(plan.steps.len() as u64, "step", "steps")
        ),
        members,
        when,
    )];
    out.extend(blocked(&now, plan, when));
    out
}

/// The run ended: `pendingAck` and `stranded` for what it left so, then
/// the outcome: `synced` when it converged, else `degraded` with why.
pub fn finished(base: &Snapshot, plan: &Plan, r: &RunResult, when: &str) -> Vec<Notification> {
    let sync = match r.outcome {
        Verdict::Converged => SyncState::Synced,
        _ => SyncState::Degraded,
    };
    let now = Snapshot {
        applied: r.report.steps_applied,
        moves: plan.summary.moves,
        pending: r.report.pending.len() as u64,
        stranded: r.stranded.len() as u64,
        ..at(base, sync)
    };
    let named = |v: &[crate::name::Name]| -> Vec<Member> {
        v.iter().map(|n| Member::named(n.as_str())).collect()
    };
    let mut out = Vec::new();
    if !r.report.pending.is_empty() {
        out.push(Notification::new(
            Event::PendingAck,
            &now,
            format!(
                "{} pending acknowledgement past the ack timeout: they stay in their bridge, on old and new parents",
                count(r.report.pending.len() as u64, "member", "members")
            ),
            named(&r.report.pending),
            when,
        ));
    }
    if !r.stranded.is_empty() {
        out.push(Notification::new(
            Event::Stranded,
            &now,
            format!(
                "{} stranded with no working parent: they report to no management server",
                count(r.stranded.len() as u64, "member", "members")
            ),
            named(&r.stranded),
            when,
        ));
    }
    let applied = count(r.report.steps_applied, "operation", "operations");
    let (event, message) = match r.outcome {
        Verdict::Converged => (
            Event::Synced,
            format!(
                "apply converged: every managed member has its desired parents ({applied} applied)"
            ),
        ),
        Verdict::Stranded => (
            Event::Degraded,
            format!(
                "apply ended with {} stranded ({applied} applied)",
                count(r.stranded.len() as u64, "member", "members")
            ),
        ),
        Verdict::Interrupted => (
            Event::Degraded,
            format!(
                "apply was interrupted ({applied} applied): every member is untouched, in its bridge or done; run apply again to finish"
            ),
        ),
        Verdict::NotConverged => (
            Event::Degraded,
            format!(
                "apply ended without converging ({applied} applied): {} failed, {} pending, {} blocked, {} still differing; every member has a working parent",
                r.report.failed.len(),
                r.report.pending.len(),
                plan.blocked.len(),
                r.still_differs
            ),
        ),
    };
    out.push(Notification::new(event, &now, message, Vec::new(), when));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::EngineReport;

    fn base() -> Snapshot {
        Snapshot {
            pass: 1,
            target: "sim:estate.yaml".into(),
            source: "desired.yaml".into(),
            command: "apply".into(),
            revision: Some("files:0123".into()),
            ..Snapshot::default()
        }
    }

    fn result(outcome: Verdict, stranded: &[&str], pending: &[&str]) -> RunResult {
        RunResult {
            report: EngineReport {
                pending: pending
                    .iter()
                    .map(|n| n.parse::<crate::name::Name>().unwrap())
                    .collect(),
                steps_applied: 3,
                ..EngineReport::default()
            },
            outcome,
            stranded: stranded
                .iter()
                .map(|n| n.parse::<crate::name::Name>().unwrap())
                .collect(),
            still_differs: 0,
            journal_error: None,
        }
    }

    fn events(v: &[Notification]) -> Vec<Event> {
        v.iter().map(|n| n.event).collect()
    }

    #[test]
    fn a_closed_window_and_a_missing_approval_are_told_apart() {
        let w = held(
            &base(),
            "error: outside the change window (policy.windows): no change may start now",
            "t",
        );
        assert_eq!(events(&w), [Event::WindowClosed]);
        assert!(
            w[0].message
                .starts_with("apply held: outside the change window")
        );
        assert_eq!(w[0].command, "apply");
        let a = held(&base(), "error: this plan moves 4 of 4 members", "t");
        assert_eq!(events(&a), [Event::AwaitingApproval]);
        assert_eq!(a[0].sync, Some(SyncState::AwaitingApproval));
    }

    #[test]
    fn the_outcome_is_synced_or_degraded_after_what_was_left() {
        let plan = Plan::new(Vec::new(), Vec::new());
        let ok = finished(&base(), &plan, &result(Verdict::Converged, &[], &[]), "t");
        assert_eq!(events(&ok), [Event::Synced]);
        assert!(
            ok[0].message.contains("3 operations applied"),
            "{}",
            ok[0].message
        );
        let bad = finished(
            &base(),
            &plan,
            &result(
                Verdict::Stranded,
                &["a1.contoso.local"],
                &["a2.contoso.local"],
            ),
            "t",
        );
        assert_eq!(
            events(&bad),
            [Event::PendingAck, Event::Stranded, Event::Degraded]
        );
        assert_eq!(bad[1].members[0].name, "a1.contoso.local");
        assert_eq!(bad[2].sync, Some(SyncState::Degraded));
    }

    #[test]
    fn a_plan_without_blocked_members_starts_with_progressing_only() {
        let plan = Plan::new(Vec::new(), Vec::new());
        assert_eq!(events(&started(&base(), &plan, "t")), [Event::Progressing]);
        assert!(nothing_to_apply(&base(), &plan, "t").is_empty());
    }
}
