//! Change windows and approval gates around a plan (docs/gates.md): the
//! edge that brings the clock and the approvals to the core's judgement.
//!
//! Owns the wall clock of windows ([`now`], with `HANDOVER_NOW` to rehearse
//! another instant), [`decide`] (one plan's window status, approval gate and
//! the admit predicate for [`crate::plan::admit::hold`]), [`GateState`]
//! (what a reconcile run remembers between passes: the changes an approval
//! covered, the last view, when the open window closes, and the watch that
//! stops a pass's apply then), [`for_pass`] and [`plan_pass`], the one call
//! a reconcile pass makes. `apply`'s and `plan`'s gates and `approve` are in
//! [`apply`], where approvals come from in [`approvals`]. Must not apply
//! or print: the pass and the commands do.

pub mod apply;
pub mod approvals;
pub mod rehearse;

use crate::assign::Assignment;
use crate::execute::Cancel;
use crate::hash::FastSet;
use crate::model::window::{self, WindowStatus};
use crate::model::{Observed, Topology};
use crate::plan::admit::Subject;
use crate::plan::approval::{self, Change, Gate};
use crate::reconcile::serve::gates_view::{ApprovalView, GatesView, WindowView};
use approvals::Approver;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The environment variable that sets the instant windows are judged at
/// (RFC 3339), for rehearsing a window and for tests; unset: the wall clock.
pub const NOW_ENV: &str = "HANDOVER_NOW";

/// The instant change windows are judged at: `HANDOVER_NOW`, or now.
pub fn now() -> Result<DateTime<Utc>, String> {
    match std::env::var(NOW_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            parse_instant(v.trim()).map_err(|e| format!("error: {NOW_ENV}={v:?} {e}"))
        }
        _ => Ok(DateTime::<Utc>::from(std::time::SystemTime::now())),
    }
}

/// Parses an RFC 3339 instant such as `2026-12-08T21:30:00+01:00`.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "is not an RFC 3339 time ({e}); expected a time such as 2026-12-08T21:30:00+01:00"
            )
        })
}

/// An instant as `/status` and messages show it: RFC 3339 in UTC.
pub fn show(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What the gates decided for one plan.
pub struct Decision {
    /// The window status; `None` when no window is configured.
    pub window: Option<WindowStatus>,
    /// The window was closed but `--ignore-windows` was given.
    pub window_ignored: bool,
    /// The approval gate.
    pub gate: Gate,
    /// Who approved the gate's digest, when it was approved now.
    pub approver: Option<Approver>,
    /// `policy.approval`, if set.
    pub threshold: Option<crate::model::Approval>,
    admit: Box<dyn Fn(Subject<'_>) -> bool>,
}

impl Decision {
    /// The admit predicate for [`crate::plan::admit::hold`]: nothing new
    /// starts while the window is closed; while approval is awaited only
    /// changes an earlier approval covered start.
    pub fn admit(&self, s: Subject<'_>) -> bool {
        (self.admit)(s)
    }

    /// How many of `held` (what [`crate::plan::admit::hold`] held back)
    /// these gates themselves hold back; the rest another gate held (a
    /// rollout's step).
    pub fn holds(&self, held: &[crate::plan::admit::Held]) -> usize {
        held.iter()
            .filter(|h| match h.kind {
                Some(kind) => !self.admit(Subject::Member(kind, &h.name)),
                None => !self.admit(Subject::Store),
            })
            .count()
    }

    /// True when the window is closed (and not ignored).
    pub fn window_closed(&self) -> bool {
        self.window.as_ref().is_some_and(|w| !w.open) && !self.window_ignored
    }

    /// The gate's waiting changes, if approval is awaited.
    pub fn awaiting(&self) -> Option<&approval::Awaiting> {
        match &self.gate {
            Gate::Waiting(w) => Some(w),
            _ => None,
        }
    }

    /// The view `/status` and the page show.
    pub fn view(&self) -> GatesView {
        let window = self.window.as_ref().map(|w| WindowView {
            open: w.open,
            closes_at: w.closes_at.map(show),
            next_open: w.next_open.map(show),
        });
        let approval = match &self.gate {
            Gate::Open => None,
            Gate::Waiting(w) => Some(ApprovalView {
                awaiting: true,
                digest: Some(w.digest.clone()),
                members: w.members,
                threshold: w.threshold.into(),
                approved_by: None,
                approved_at: None,
            }),
            Gate::Approved { digest, changes } => Some(ApprovalView {
                awaiting: false,
                digest: Some(digest.clone()),
                members: changes.len() as u64,
                threshold: self.threshold.unwrap_or_default().into(),
                approved_by: self.approver.as_ref().map(|a| a.by.clone()),
                approved_at: self.approver.as_ref().and_then(|a| a.at.clone()),
            }),
        };
        GatesView { window, approval }
    }
}

/// What [`decide`] needs besides the plan's inputs.
pub struct Inputs<'a> {
    /// The instant windows are judged at.
    pub now: DateTime<Utc>,
    /// `--ignore-windows`.
    pub ignore_windows: bool,
    /// Changes an earlier approval covered.
    pub approved_before: &'a FastSet<Change>,
    /// Approved digests and who approved them.
    pub approved: &'a BTreeMap<String, Approver>,
}

/// The window status, the approval gate and the admit predicate of one
/// plan of `desired` against `observed`.
pub fn decide(
    desired: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    i: &Inputs<'_>,
) -> Decision {
    let window = (!desired.policy.windows.is_empty())
        .then(|| window::status(&desired.policy.windows, i.now));
    let closed = window.as_ref().is_some_and(|w| !w.open);
    let gate = approval::gate(
        desired.policy.approval.as_ref(),
        desired,
        observed,
        assignment,
        i.approved_before,
        &|d| i.approved.contains_key(d),
    );
    let approver = match &gate {
        Gate::Approved { digest, .. } => i.approved.get(digest).cloned(),
        _ => None,
    };
    let by_gate = approval::admits(&gate, desired, observed, assignment, i.approved_before);
    let hold_all = closed && !i.ignore_windows;
    Decision {
        window,
        window_ignored: closed && i.ignore_windows,
        gate,
        approver,
        threshold: desired.policy.approval,
        admit: Box::new(move |s| !hold_all && by_gate(s)),
    }
}

/// What a reconcile run remembers between passes.
#[derive(Debug, Default)]
pub struct GateState {
    /// Changes an approval covered: they may start in any later pass.
    approved: Mutex<FastSet<Change>>,
    /// The last pass's view and the members it held back, until taken.
    last: Mutex<Option<(GatesView, u64)>>,
    /// The last approval given in this run, shown on `/status` while no
    /// new approval is awaited.
    approved_view: Mutex<Option<ApprovalView>>,
    /// When the window that was open at the last plan closes.
    closes_at: Mutex<Option<DateTime<Utc>>>,
    /// Under `--ha`: the approvals the leader's pass read from etcd.
    pub etcd_approvals: approvals::FromEtcd,
}

impl GateState {
    /// Stops `stop` (no new step starts) when the change window that was
    /// open at the last plan closes, and, with `shutdown`, when that is
    /// set: a long pass started inside a window starts nothing after it.
    /// Members already in a bridge are left there, safe, and the next pass
    /// finishes them. `None` (nothing watched) when no window closes; the
    /// watch ends when the guard is dropped.
    pub fn stop_at_close(&self, stop: &Cancel, shutdown: Option<&Cancel>) -> Option<CloseGuard> {
        let closes_at = (*self.closes_at.lock().unwrap_or_else(|p| p.into_inner()))?;
        let (stop, shutdown) = (stop.clone(), shutdown.cloned());
        let task = tokio::spawn(async move {
            loop {
                let closed = now().is_ok_and(|n| n >= closes_at);
                if closed {
                    tracing::info!("the change window closed: no new change starts in this pass");
                }
                if closed || shutdown.as_ref().is_some_and(Cancel::is_cancelled) {
                    stop.cancel();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        Some(CloseGuard(task))
    }

    /// The cancel flag of a pass's apply: `shutdown` itself, or, while a
    /// window is open that closes, a flag also set when it closes.
    pub fn pass_cancel(&self, shutdown: &Cancel) -> (Cancel, Option<CloseGuard>) {
        let stop = Cancel::new();
        match self.stop_at_close(&stop, Some(shutdown)) {
            Some(g) => (stop, Some(g)),
            None => (shutdown.clone(), None),
        }
    }

    /// The last pass's view and held count, for its [`crate::reconcile::PassResult`].
    pub fn take_view(&self) -> Option<(GatesView, u64)> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// How many members the last pass's gates held back (0 until taken
    /// again): a pass that held members back has not converged.
    pub fn held(&self) -> u64 {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |l| l.1)
    }
}

/// Ends the watch of [`GateState::stop_at_close`] when dropped.
#[derive(Debug)]
pub struct CloseGuard(tokio::task::JoinHandle<()>);

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The plan of one reconcile pass with the gates applied: assigns, asks
/// [`for_pass`], holds back what is not admitted
/// ([`crate::plan::admit::hold`]) and plans the rest; the view goes to
/// `state` for the pass's result.
pub fn plan_pass(
    state: &GateState,
    topology: &Topology,
    observed: &Observed,
    state_dir: &Path,
    desired: &[PathBuf],
) -> crate::plan::Plan {
    let (assignment, _) = crate::assign::resolve_lenient(topology, observed)
        .expect("a validated topology's globs compile");
    plan_pass_narrowed(
        state,
        topology,
        observed,
        &assignment,
        state_dir,
        desired,
        &|_| true,
    )
}

/// [`plan_pass`] for a desired state and assignment another gate already
/// shaped (a progressive rollout's, with its rollback entries), which also
/// admits only what `also` admits: a member starts only when the windows,
/// the approval and `also` all let it. The gates judge the whole revision
/// (its blast radius), not one rollout step; only the members the gates
/// themselves hold back count as held by them.
pub fn plan_pass_narrowed(
    state: &GateState,
    topology: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    state_dir: &Path,
    desired: &[PathBuf],
    also: &dyn Fn(crate::plan::admit::Subject<'_>) -> bool,
) -> crate::plan::Plan {
    let d = for_pass(state, topology, observed, assignment, state_dir, desired);
    let (t, a, held) =
        crate::plan::admit::hold(topology, observed, assignment, &|s| d.admit(s) && also(s));
    let held_by_gates = d.holds(&held);
    let configured = !topology.policy.windows.is_empty() || topology.policy.approval.is_some();
    let mut view = d.view();
    {
        let mut last = state
            .approved_view
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &view.approval {
            Some(a) if !a.awaiting => *last = Some(a.clone()),
            Some(_) => {}
            None => view.approval = last.clone(),
        }
    }
    *state.last.lock().unwrap_or_else(|p| p.into_inner()) =
        configured.then_some((view, held_by_gates as u64));
    *state.closes_at.lock().unwrap_or_else(|p| p.into_inner()) =
        d.window.as_ref().and_then(|w| w.closes_at);
    crate::plan::plan_assigned(&t, observed, &a)
}

/// The gates of one reconcile pass: reads the clock and the approvals (the
/// journal in `state_dir`, the approvals file beside `desired`, and under
/// `--ha` those the pass read from etcd into `state`), decides,
/// remembers newly approved changes in `state`, and logs what it held back.
pub fn for_pass(
    state: &GateState,
    topology: &Topology,
    observed: &Observed,
    assignment: &Assignment,
    state_dir: &Path,
    desired: &[PathBuf],
) -> Decision {
    let now = now().unwrap_or_else(|e| {
        tracing::warn!("{e}; judging change windows by the wall clock");
        DateTime::<Utc>::from(std::time::SystemTime::now())
    });
    let (mut approved, problems) = if topology.policy.approval.is_some() {
        approvals::all(state_dir, desired)
    } else {
        Default::default()
    };
    state.etcd_approvals.merge_into(&mut approved);
    for p in problems {
        tracing::warn!("approvals: {p}");
    }
    let mut before = state.approved.lock().unwrap_or_else(|p| p.into_inner());
    let d = decide(
        topology,
        observed,
        assignment,
        &Inputs {
            now,
            ignore_windows: false,
            approved_before: &before,
            approved: &approved,
        },
    );
    if let Gate::Approved { digest, changes } = &d.gate {
        tracing::info!(%digest, members = changes.len(), "approval given: the approved changes may start");
        before.extend(changes.iter().cloned());
    }
    if let Some(w) = d.awaiting() {
        tracing::warn!(
            digest = %w.digest,
            members = w.members,
            "awaiting approval: {} members would move; approve with `handover approve {}` or add the digest to {}",
            w.members,
            w.digest,
            approvals::FILE_NAME
        );
    }
    if d.window_closed() {
        let next = d
            .window
            .as_ref()
            .and_then(|w| w.next_open)
            .map_or_else(|| "not within 400 days".to_string(), show);
        tracing::info!(next_open = %next, "outside the change window: no new change starts; members already in a bridge are finished");
    }
    d
}
