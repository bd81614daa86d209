//! Fenced writes: a target wrapper that applies nothing unless this
//! replica still leads its group, checked against etcd before each step.
//!
//! Owns [`Fenced`] and [`LostLeadership`]. Before each operation, two
//! checks, in order:
//!
//! 1. locally, without a round trip ([`check_local`]): the term has not
//!    ended and the lease's local deadline (counted from when the last
//!    answered keepalive was *sent*, `super::lease`) is ahead. A process
//!    that was paused past its TTL fails this the instant it resumes;
//! 2. in etcd, one transaction: *if* the leader key's `create_revision` is
//!    our term and its value is our id, *then* write the step's `intent`
//!    to the shared journal. The check and the journal entry are atomic.
//!
//! then check 1 again (the answer may have come after a pause), and only
//! then call the provider. The call is raced against the lease's local
//! deadline ([`deposed`]): when the deadline passes first (or the term
//! ends), the call is abandoned, and an `exec:` provider's whole process
//! group is killed with it (`crate::provider::exec`), so no provider call
//! outlives the lease. Once either check fails the loss is sticky:
//! the pass's cancel flag is set (the executor starts nothing more, as on
//! the first Ctrl-C), and every later call is refused without touching the
//! target: no apply, no observe, no clock step (a `sim:` target logs
//! those). etcd not answering is a transient error while the deadline is
//! ahead (the executor retries), and a loss after it. What remains, a
//! write the provider had already handed to the target when it was
//! killed, is stated in docs/safety.md. Must not decide what to apply.

use super::etcd::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse};
use super::journal::RunJournal;
use super::leader::Term;
use super::node::Node;
use crate::execute::{Cancel, Inspect};
use crate::model::Observed;
use crate::name::Name;
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use crate::state::journal::Record;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a replica may no longer apply: it lost leadership of its group.
/// The pass stops at once and the replica goes back to standby.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LostLeadership {
    /// The lease's local deadline passed before a keepalive was answered
    /// (etcd unreachable, or this process was paused).
    #[error(
        "lost leadership of {group} (term {term}): the lease was not renewed in time (etcd unreachable, or this process was paused); applying nothing more and going back to standby"
    )]
    Expired {
        /// The group.
        group: String,
        /// The term.
        term: i64,
    },
    /// etcd says the leader key is no longer ours.
    #[error(
        "lost leadership of {group} (term {term}): the leader key is now {holder}; applying nothing more and going back to standby"
    )]
    Superseded {
        /// The group.
        group: String,
        /// Our term.
        term: i64,
        /// Who holds it now (`nobody` when the key is gone).
        holder: String,
    },
    /// The term was ended (by the campaign, or shutdown).
    #[error("lost leadership of {group} (term {term}): the term ended; applying nothing more")]
    Ended {
        /// The group.
        group: String,
        /// The term.
        term: i64,
    },
}

/// Check 1: may this term act at `now`, judged locally? Pure.
pub fn check_local(
    group: &str,
    term: i64,
    ended: bool,
    now: Instant,
    valid_until: Instant,
) -> Result<(), LostLeadership> {
    if ended {
        return Err(LostLeadership::Ended {
            group: group.to_string(),
            term,
        });
    }
    if now >= valid_until {
        return Err(LostLeadership::Expired {
            group: group.to_string(),
            term,
        });
    }
    Ok(())
}

/// What etcd's answer to the fencing transaction means. Pure.
/// `holder` is the leader key's value and create revision when the
/// comparison failed (`None`: the key is gone).
pub fn judge(
    group: &str,
    term: i64,
    succeeded: bool,
    holder: Option<(String, i64)>,
) -> Result<(), LostLeadership> {
    if succeeded {
        return Ok(());
    }
    Err(LostLeadership::Superseded {
        group: group.to_string(),
        term,
        holder: match holder {
            Some((id, rev)) => format!("{id} (term {rev})"),
            None => "nobody".into(),
        },
    })
}

/// Resolves once `term` may no longer act: the lease's local deadline
/// has passed (re-read after every renewal, so a healthy lease never
/// resolves this), the lease is known lost, or the term was ended. Wakes
/// at the deadline, and every 50 ms to notice an early loss.
pub async fn deposed(term: &Term) {
    loop {
        let now = Instant::now();
        let until = term.lease.valid_until();
        if !term.valid_at(now) {
            return;
        }
        let wake = until.min(now + Duration::from_millis(50));
        tokio::time::sleep_until(wake.into()).await;
    }
}

/// Runs `call` unless `term` is deposed first; then `call` is dropped
/// before it finishes (an `exec:` provider's process group is killed as
/// it drops) and `None` is returned. Checked before `call` is first
/// polled, so a process resumed after a pause past its deadline does not
/// start the call at all.
pub async fn within_term<T>(term: &Term, call: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        () = deposed(term) => None,
        r = call => Some(r),
    }
}

/// Why a fenced write did not happen.
#[derive(Debug)]
pub enum FenceError {
    /// Leadership is lost: stop.
    Lost(LostLeadership),
    /// etcd did not answer; leadership may still hold.
    Etcd(String),
}

/// Runs the fencing transaction for `term`, writing `puts` (keys and
/// values: a shared journal entry, the rollout's memory) if it holds, in
/// the same transaction as the check: a deposed leader writes none of
/// them.
pub async fn fenced_put(
    ha: &Node,
    term: &Arc<Term>,
    puts: Vec<(String, String)>,
) -> Result<(), FenceError> {
    let now = Instant::now();
    check_local(
        &term.group,
        term.revision,
        term.has_ended(),
        now,
        term.lease.valid_until(),
    )
    .map_err(FenceError::Lost)?;
    let left = term.lease.valid_until().saturating_duration_since(now);
    let key = term.keys.leader();
    let then: Vec<TxnOp> = puts
        .into_iter()
        .map(|(k, v)| TxnOp::put(k, v, None))
        .collect();
    let txn = Txn::new()
        .when([
            Compare::create_revision(key.clone(), CompareOp::Equal, term.revision),
            Compare::value(key.clone(), CompareOp::Equal, term.id.clone()),
        ])
        .and_then(then)
        .or_else([TxnOp::get(key, None)]);
    let mut c = ha.client();
    let answer =
        ha.call(async move {
            tokio::time::timeout(left.max(Duration::from_millis(1)), c.txn(txn)).await
        })
        .await;
    let r = match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(FenceError::Etcd(e.to_string())),
        Err(_) => return Err(FenceError::Etcd("etcd did not answer in time".into())),
    };
    let holder = r.op_responses().into_iter().find_map(|o| match o {
        TxnOpResponse::Get(g) => g.kvs().first().map(|kv| {
            (
                String::from_utf8_lossy(kv.value()).into_owned(),
                kv.create_revision(),
            )
        }),
        _ => None,
    });
    judge(&term.group, term.revision, r.succeeded(), holder).map_err(FenceError::Lost)?;
    // The answer may have been read after a pause: check 1 again.
    check_local(
        &term.group,
        term.revision,
        term.has_ended(),
        Instant::now(),
        term.lease.valid_until(),
    )
    .map_err(FenceError::Lost)
}

/// A target that a leader applies through. Built only for a leader's
/// pass; a standby never has one.
pub struct Fenced<'a, T> {
    inner: &'a mut T,
    ha: &'a Node,
    term: Arc<Term>,
    journal: RunJournal,
    run: String,
    cancel: Cancel,
    shutdown: Cancel,
    lost: Option<LostLeadership>,
}

impl<'a, T> Fenced<'a, T> {
    /// Wraps `inner` for one pass of `term`. `cancel` is the pass's own
    /// flag (set on loss, and on shutdown); `shutdown` the process's.
    pub fn new(
        inner: &'a mut T,
        ha: &'a Node,
        term: Arc<Term>,
        journal: RunJournal,
        run: &str,
        cancel: Cancel,
        shutdown: Cancel,
    ) -> Self {
        Fenced {
            inner,
            ha,
            term,
            journal,
            run: run.to_string(),
            cancel,
            shutdown,
            lost: None,
        }
    }

    /// Why leadership was lost during the pass, if it was.
    pub fn lost(&self) -> Option<&LostLeadership> {
        self.lost.as_ref()
    }

    /// The shared journal of the run (to write its end).
    pub fn journal(&mut self) -> &mut RunJournal {
        &mut self.journal
    }

    fn lose(&mut self, why: LostLeadership) -> ProviderError {
        if self.lost.is_none() {
            tracing::warn!("{why}");
            self.term.end();
            self.lost = Some(why.clone());
        }
        self.cancel.cancel();
        ProviderError::Permanent(why.to_string())
    }

    /// The loss when a provider call was still running at the lease
    /// deadline and was abandoned (its process group killed).
    fn outlived(&mut self, call: &str) -> ProviderError {
        let t = &self.term;
        let why = if t.has_ended() {
            LostLeadership::Ended {
                group: t.group.clone(),
                term: t.revision,
            }
        } else {
            LostLeadership::Expired {
                group: t.group.clone(),
                term: t.revision,
            }
        };
        tracing::warn!(
            call,
            group = %t.group,
            term = t.revision,
            "a provider call was still running when the lease deadline passed: it was stopped (an exec: provider's whole process group killed)"
        );
        self.lose(why)
    }

    /// Check 1, and the shutdown flag passed on to the pass's flag.
    fn gate(&mut self) -> Result<(), ProviderError> {
        if self.shutdown.is_cancelled() {
            self.cancel.cancel();
        }
        if let Some(l) = &self.lost {
            return Err(ProviderError::Permanent(l.to_string()));
        }
        let t = &self.term;
        match check_local(
            &t.group,
            t.revision,
            t.has_ended(),
            Instant::now(),
            t.lease.valid_until(),
        ) {
            Ok(()) => Ok(()),
            Err(l) => Err(self.lose(l)),
        }
    }

    fn record(&self, op: &Operation, outcome: &str, detail: String) -> Record {
        let name = match op {
            Operation::SetParents { name, .. } | Operation::RetireGateway { name } => name.clone(),
            Operation::StoreFailover { pool, .. } => pool.clone(),
        };
        let action = match op {
            Operation::SetParents { .. } => "set_parents",
            Operation::RetireGateway { .. } => "retire_gateway",
            Operation::StoreFailover { .. } => "store_failover",
        };
        Record::Step {
            run: self.run.clone(),
            at: crate::state::journal::now_rfc3339(),
            step: 0,
            action: action.into(),
            name: name.to_string(),
            outcome: outcome.into(),
            detail,
        }
    }
}

impl<T: Provider> Provider for Fenced<'_, T> {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.gate()?;
        match within_term(&self.term, self.inner.observe(scope)).await {
            Some(r) => r,
            None => Err(self.outlived("observe")),
        }
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.gate()?;
        let detail = serde_json::to_string(op).unwrap_or_default();
        let intent = self.journal.next(self.record(op, "intent", detail));
        match fenced_put(self.ha, &self.term, vec![intent]).await {
            Ok(()) => {}
            Err(FenceError::Lost(l)) => return Err(self.lose(l)),
            Err(FenceError::Etcd(e)) => {
                self.gate()?;
                return Err(ProviderError::Transient(format!(
                    "cannot confirm leadership with etcd before applying: {e}"
                )));
            }
        }
        let r = match within_term(&self.term, self.inner.apply(op)).await {
            Some(r) => r,
            // Nothing more goes to the shared journal: the lease is gone,
            // and the intent above already records the attempt.
            None => return Err(self.outlived("apply")),
        };
        let (outcome, detail) = match &r {
            Ok(()) => ("applied", String::new()),
            Err(ProviderError::Transient(e)) => ("transient_error", e.clone()),
            Err(ProviderError::Permanent(e)) => ("failed", e.clone()),
        };
        let rec = self.record(op, outcome, detail);
        self.journal.put(self.ha, rec).await;
        r
    }

    fn counters(&self) -> crate::provider::ProviderCounters {
        self.inner.counters()
    }
}

impl<T: Clock> Clock for Fenced<'_, T> {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    async fn sleep(&mut self, d: Duration) {
        if self.gate().is_err() {
            return;
        }
        self.inner.sleep(d).await
    }
}

impl<T: Inspect> Inspect for Fenced<'_, T> {
    fn stranded(&self) -> Vec<Name> {
        self.inner.stranded()
    }

    fn settling(&self) -> bool {
        self.lost.is_none() && self.inner.settling()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_check_refuses_after_the_deadline_or_the_end_of_the_term() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(2);
        assert_eq!(check_local("g", 7, false, t0, later), Ok(()));
        let e = check_local("g", 7, false, later, later).unwrap_err();
        assert_eq!(
            e,
            LostLeadership::Expired {
                group: "g".into(),
                term: 7
            }
        );
        assert!(e.to_string().contains("not renewed in time"), "{e}");
        assert!(e.to_string().contains("paused"), "{e}");
        assert!(matches!(
            check_local("g", 7, true, t0, later),
            Err(LostLeadership::Ended { .. })
        ));
    }

    #[test]
    fn etcd_saying_no_names_the_new_holder() {
        assert_eq!(judge("g", 7, true, None), Ok(()));
        let e = judge("g", 7, false, Some(("host-b:12".into(), 9))).unwrap_err();
        assert!(
            e.to_string()
                .contains("the leader key is now host-b:12 (term 9)"),
            "{e}"
        );
        let e = judge("g", 7, false, None).unwrap_err();
        assert!(e.to_string().contains("now nobody"), "{e}");
        assert!(e.to_string().contains("going back to standby"), "{e}");
    }
}
