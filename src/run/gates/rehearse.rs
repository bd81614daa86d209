//! Change windows and approvals in a rehearsal (`simulate --start`,
//! `--approve`, `--auto-approve`; docs/gates.md): the gates judged on the
//! simulator's virtual clock.
//!
//! Owns [`Rehearsal`] (the start instant, the approvals given, and what
//! the gates did, as [`GateEvent`]s), its planners ([`Rehearsal::plan`],
//! the strategy handed to `execute::converge`, and
//! [`Rehearsal::plan_narrowed`], the gates composed with a rollout's step)
//! and [`Clocked`], the target
//! wrapper that tells the planner the virtual time and makes the rehearsal
//! wait for the next window opening as it waits for a scheduled fault.
//! Must not print: `simulate` reports the events.

use super::{Decision, Inputs, decide, show};
use crate::assign::Assignment;
use crate::execute::Inspect;
use crate::hash::FastSet;
use crate::model::{Observed, Topology};
use crate::name::Name;
use crate::plan::Plan;
use crate::plan::admit::Subject;
use crate::plan::approval::{Change, Gate};
use crate::provider::{Clock, Operation, Provider, ProviderError, Schedule, Scope};
use chrono::{DateTime, Utc};
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// The default start of a rehearsal: Tuesday 8 December 2026, 21:30 UTC, a
/// fixed instant so that the output is the same on every run.
pub const DEFAULT_START: &str = "2026-12-08T21:30:00Z";

/// One thing the gates did during a rehearsal, at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GateEvent {
    /// Seconds of virtual time since the start.
    pub at_seconds: u64,
    /// The instant, RFC 3339 UTC.
    pub at: String,
    /// `window_closed` (changes held until `until`), `window_open`,
    /// `awaiting_approval`, `approved`.
    pub event: &'static str,
    /// The approval digest, for the approval events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Members held back (window) or to move (approval).
    pub members: u64,
    /// `window_closed`: when the next window opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// The gates of one rehearsal.
#[derive(Debug)]
pub struct Rehearsal {
    start: DateTime<Utc>,
    /// `--auto-approve`: every digest is approved.
    all: bool,
    /// `--approve DIGEST`s.
    listed: Vec<String>,
    /// Virtual time now, as the target last said.
    now: Cell<Duration>,
    /// Virtual time of the next window opening, while the window holds.
    wake: Cell<Option<Duration>>,
    approved: RefCell<FastSet<Change>>,
    events: RefCell<Vec<GateEvent>>,
    was_open: Cell<Option<bool>>,
}

impl Rehearsal {
    /// Gates judged from `start` on, approving `listed` digests (or all
    /// with `auto_approve`).
    pub fn new(start: DateTime<Utc>, listed: Vec<String>, auto_approve: bool) -> Self {
        Rehearsal {
            start,
            all: auto_approve,
            listed,
            now: Cell::new(Duration::ZERO),
            wake: Cell::new(None),
            approved: RefCell::default(),
            events: RefCell::default(),
            was_open: Cell::new(None),
        }
    }

    /// What the gates did, in order.
    pub fn events(&self) -> Vec<GateEvent> {
        self.events.borrow().clone()
    }

    fn instant(&self, d: Duration) -> DateTime<Utc> {
        self.start + chrono::Duration::milliseconds(d.as_millis() as i64)
    }

    fn event(
        &self,
        event: &'static str,
        digest: Option<String>,
        members: u64,
        until: Option<String>,
    ) {
        let d = self.now.get();
        self.events.borrow_mut().push(GateEvent {
            at_seconds: d.as_secs(),
            at: show(self.instant(d)),
            event,
            digest,
            members,
            until,
        });
    }

    /// The plan of one rehearsal pass with the gates applied, at the
    /// virtual time the target last reported; `strategy` plans.
    pub fn plan(
        &self,
        desired: &Topology,
        observed: &Observed,
        strategy: fn(&Topology, &Observed) -> Plan,
    ) -> Plan {
        let Ok((assignment, _)) = crate::assign::resolve_lenient(desired, observed) else {
            return strategy(desired, observed);
        };
        if !gated(desired) {
            return strategy(desired, observed);
        }
        let d = self.decide(desired, observed, &assignment);
        let (t, a, held) =
            crate::plan::admit::hold(desired, observed, &assignment, &|s| d.admit(s));
        self.window(&d, held.len() as u64);
        if held.is_empty() {
            strategy(desired, observed)
        } else {
            crate::plan::plan_assigned(&t, observed, &a)
        }
    }

    /// [`Rehearsal::plan`] for a desired state and assignment another gate
    /// already shaped (a progressive rollout's, its rollback written in),
    /// which also admits only what `also` admits, as a reconcile pass
    /// composes them ([`super::plan_pass_narrowed`]): the gates judge the
    /// whole revision, a member starts only when the windows, the approval
    /// and `also` all let it, and only the members the gates themselves
    /// hold back count in their events.
    pub fn plan_narrowed(
        &self,
        desired: &Topology,
        observed: &Observed,
        assignment: &Assignment,
        also: &dyn Fn(Subject<'_>) -> bool,
    ) -> Plan {
        if !gated(desired) {
            let (t, a, _held) = crate::plan::admit::hold(desired, observed, assignment, also);
            return crate::plan::plan_assigned(&t, observed, &a);
        }
        let d = self.decide(desired, observed, assignment);
        let (t, a, held) =
            crate::plan::admit::hold(desired, observed, assignment, &|s| d.admit(s) && also(s));
        self.window(&d, d.holds(&held) as u64);
        crate::plan::plan_assigned(&t, observed, &a)
    }

    /// The gates' decision at the virtual time the target last reported,
    /// approving what the rehearsal approves, with the approval events.
    fn decide(&self, desired: &Topology, observed: &Observed, assignment: &Assignment) -> Decision {
        let judge = |approved: &std::collections::BTreeMap<String, super::approvals::Approver>| {
            decide(
                desired,
                observed,
                assignment,
                &Inputs {
                    now: self.instant(self.now.get()),
                    ignore_windows: false,
                    approved_before: &self.approved.borrow(),
                    approved,
                },
            )
        };
        // The digest is only known after the gate has been judged once; it
        // is judged again only when the rehearsal approves that digest.
        let probe = judge(&Default::default());
        let d = match &probe.gate {
            Gate::Waiting(w) if self.all || self.listed.contains(&w.digest) => {
                let by = if self.all {
                    "--auto-approve"
                } else {
                    "--approve"
                };
                judge(&std::collections::BTreeMap::from([(
                    w.digest.clone(),
                    super::approvals::Approver {
                        by: by.into(),
                        at: None,
                    },
                )]))
            }
            _ => probe,
        };
        match &d.gate {
            Gate::Approved { digest, changes } => {
                self.event("approved", Some(digest.clone()), changes.len() as u64, None);
                self.approved.borrow_mut().extend(changes.iter().cloned());
            }
            Gate::Waiting(w) => {
                let seen = self.events.borrow().iter().any(|e| {
                    e.event == "awaiting_approval" && e.digest.as_deref() == Some(&w.digest)
                });
                if !seen {
                    self.event("awaiting_approval", Some(w.digest.clone()), w.members, None);
                }
            }
            Gate::Open => {}
        }
        d
    }

    /// Records the window opening or closing (`held` members held back by
    /// it) when it changed, and when the next opening wakes the rehearsal.
    fn window(&self, d: &Decision, held: u64) {
        let open = !d.window_closed();
        if d.window.is_some() && self.was_open.get() != Some(open) {
            self.was_open.set(Some(open));
            if open {
                self.event("window_open", None, 0, None);
            } else {
                let next = d.window.as_ref().and_then(|w| w.next_open);
                self.event("window_closed", None, held, next.map(show));
            }
        }
        self.wake
            .set(match d.window.as_ref().and_then(|w| w.next_open) {
                Some(n) if !open => Some(
                    self.now.get()
                        + (n - self.instant(self.now.get()))
                            .to_std()
                            .unwrap_or_default(),
                ),
                _ => None,
            });
    }
}

/// True when the topology has a change window or an approval gate.
fn gated(desired: &Topology) -> bool {
    !desired.policy.windows.is_empty() || desired.policy.approval.is_some()
}

/// A rehearsal target that tells [`Rehearsal`] the virtual time at every
/// observation, and schedules the next window opening as an event, so the
/// rehearsal waits for it as it waits for a scheduled fault.
pub struct Clocked<'a, T> {
    /// The simulator.
    pub inner: &'a mut T,
    /// The gates.
    pub gates: &'a Rehearsal,
}

impl<T: Provider + Clock> Provider for Clocked<'_, T> {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.gates.now.set(self.inner.now());
        self.inner.observe(scope).await
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.inner.apply(op).await
    }

    async fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ProviderError>>, ProviderError> {
        self.inner.apply_batch(ops).await
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    fn counters(&self) -> crate::provider::ProviderCounters {
        self.inner.counters()
    }
}

impl<T: Clock> Clock for Clocked<'_, T> {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.inner.sleep(d).await
    }
}

impl<T: Schedule + Clock> Schedule for Clocked<'_, T> {
    fn next_scheduled(&self) -> Option<Duration> {
        let wake = self.gates.wake.get().filter(|w| *w > self.inner.now());
        match (self.inner.next_scheduled(), wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<T: Inspect> Inspect for Clocked<'_, T> {
    fn stranded(&self) -> Vec<Name> {
        self.inner.stranded()
    }

    fn stranded_ever(&self) -> Vec<Name> {
        self.inner.stranded_ever()
    }

    fn settling(&self) -> bool {
        self.inner.settling()
    }
}
