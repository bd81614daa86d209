//! Retries of transient provider errors: exponential backoff with jitter,
//! sleeping on the target's clock (so in the simulator backoff costs
//! virtual time, not wall time).
//!
//! Owns the backoff schedule and the two retrying wrappers (apply, observe).
//! Must not decide what a failure means for a plan; the caller does.
//!
//! A transient failure of `apply` does not say the change was not made: a
//! call that timed out may have been applied and only its answer lost.
//! Retrying is safe because operations are idempotent (the provider
//! contract: applying one whose effect holds changes nothing). When the
//! last attempt fails too, the wrapper observes the subject once before
//! reporting failure (also when a refusal follows a transient failure),
//! and reports success if the effect holds after all, so a change that was
//! made is never reported as failed.

use crate::model::{MemberKind, Observed};
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// How transient errors are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included; at least 1.
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Largest delay between two attempts (before jitter).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): `base · 2^(retry-1)`,
    /// capped at `max_delay`, then scaled by a uniform factor in [0.5, 1.0]
    /// ("equal jitter"), so many members retrying together spread out.
    pub fn delay(&self, retry: u32, rng: &mut ChaCha8Rng) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let raw = self
            .base
            .saturating_mul(1u32 << exp)
            .min(self.max_delay)
            .as_millis() as u64;
        let jittered = if raw == 0 {
            0
        } else {
            rng.random_range(raw / 2..=raw)
        };
        Duration::from_millis(jittered)
    }
}

/// Counters the wrappers add to.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Calls {
    /// `apply` calls, retries included.
    pub apply: u64,
    /// `observe` calls, retries included.
    pub observe: u64,
    /// Retries (calls after a transient error).
    pub retries: u64,
}

/// Applies `op`, retrying transient errors. Returns the attempts made.
pub(crate) async fn apply<T: Provider + Clock>(
    target: &mut T,
    op: &Operation,
    policy: &RetryPolicy,
    rng: &mut ChaCha8Rng,
    calls: &mut Calls,
) -> (u32, Result<(), ProviderError>) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        calls.apply += 1;
        let restarts = target.counters().restarts;
        match target.apply(op).await {
            Ok(()) => return (attempt, Ok(())),
            // A session that hung or broke was restarted: observe before
            // continuing, the change may have been made.
            Err(e)
                if e.is_transient()
                    && target.counters().restarts > restarts
                    && holds_after_all(target, op, calls).await =>
            {
                tracing::debug!(attempt, error = %e, "the session restarted; the change was made");
                return (attempt, Ok(()));
            }
            Err(e) if e.is_transient() && attempt < policy.max_attempts.max(1) => {
                tracing::debug!(attempt, error = %e, "transient error; backing off");
                calls.retries += 1;
                let d = policy.delay(attempt, rng);
                target.sleep(d).await;
            }
            // The last failure: after a transient one the change may have
            // been made (its answer lost), and a refusal that follows it
            // may be the provider finding it made ("unknown gateway" for a
            // retired one), so both are checked against one observation.
            Err(e) if e.is_transient() || attempt > 1 => {
                if holds_after_all(target, op, calls).await {
                    tracing::debug!(attempt, error = %e, "the answer was lost, not the change");
                    return (attempt, Ok(()));
                }
                return (attempt, Err(e));
            }
            Err(e) => return (attempt, Err(e)),
        }
    }
}

/// Applies `ops` as one batch (the target may split it into several
/// requests), retrying the operations whose own result, or the whole
/// request, failed transiently: one batch of those after each backoff.
/// After a session restart, and after the last failure, the subjects are
/// observed first and an operation whose effect holds is a success (its
/// answer was lost, not the change). Returns per operation the attempts
/// made and the result.
pub(crate) async fn apply_batch<T: Provider + Clock>(
    target: &mut T,
    ops: &[Operation],
    policy: &RetryPolicy,
    rng: &mut ChaCha8Rng,
    calls: &mut Calls,
) -> Vec<(u32, Result<(), ProviderError>)> {
    let mut out: Vec<Option<(u32, Result<(), ProviderError>)>> = vec![None; ops.len()];
    let mut todo: Vec<usize> = (0..ops.len()).collect();
    let max = policy.max_attempts.max(1);
    let mut attempt = 0;
    while !todo.is_empty() {
        attempt += 1;
        calls.apply += 1;
        let batch: Vec<Operation> = todo.iter().map(|&i| ops[i].clone()).collect();
        let restarts = target.counters().restarts;
        let results = match target.apply_batch(&batch).await {
            Ok(r) if r.len() == batch.len() => r,
            Ok(r) => vec![
                Err(ProviderError::Permanent(format!(
                    "the provider answered {} operation(s) with {} result(s)",
                    batch.len(),
                    r.len()
                )));
                batch.len()
            ],
            Err(e) => vec![Err(e); batch.len()],
        };
        let restarted = target.counters().restarts > restarts;
        let mut again = Vec::new();
        let mut last = Vec::new();
        for (&i, r) in todo.iter().zip(results) {
            match r {
                Ok(()) => out[i] = Some((attempt, Ok(()))),
                Err(e) if e.is_transient() && attempt < max => again.push((i, e)),
                Err(e) if e.is_transient() || attempt > 1 => last.push((i, e)),
                Err(e) => out[i] = Some((attempt, Err(e))),
            }
        }
        // The last failures, and every transient one after a restart: one
        // observation of their subjects says which changes were made.
        let check: Vec<usize> = last
            .iter()
            .map(|(i, _)| *i)
            .chain(again.iter().filter(|_| restarted).map(|(i, _)| *i))
            .collect();
        let held = holding(target, ops, &check, calls).await;
        for (i, e) in last {
            out[i] = Some((attempt, if held.contains(&i) { Ok(()) } else { Err(e) }));
        }
        again.retain(|(i, _)| {
            if held.contains(i) {
                out[*i] = Some((attempt, Ok(())));
                false
            } else {
                true
            }
        });
        if again.is_empty() {
            break;
        }
        tracing::debug!(attempt, operations = again.len(), error = %again[0].1, "transient errors in a batch; backing off");
        calls.retries += 1;
        let d = policy.delay(attempt, rng);
        target.sleep(d).await;
        todo = again.into_iter().map(|(i, _)| i).collect();
    }
    out.into_iter()
        .map(|r| r.expect("every operation has a result"))
        .collect()
}

/// Which of `ops[which]` already hold, by one observation of their
/// subjects (the whole estate when a gateway retirement or a failover is
/// among them). An observation that fails says nothing: none.
async fn holding<T: Provider>(
    target: &mut T,
    ops: &[Operation],
    which: &[usize],
    calls: &mut Calls,
) -> std::collections::BTreeSet<usize> {
    if which.is_empty() {
        return Default::default();
    }
    let mut names = Vec::new();
    let mut all = false;
    for &i in which {
        match &ops[i] {
            Operation::SetParents { name, .. } => names.push(name.clone()),
            _ => all = true,
        }
    }
    let scope = if all {
        Scope::All
    } else {
        Scope::Members(names)
    };
    calls.observe += 1;
    let Ok(o) = target.observe(&scope).await else {
        return Default::default();
    };
    which
        .iter()
        .copied()
        .filter(|&i| effect_holds(&ops[i], &o))
        .collect()
}

/// After the last failure of [`apply`]: one observation of `op`'s subject, and
/// whether `op`'s effect holds in it (the member has exactly the parents
/// written; the gateway is gone; the store is active in the pool and no
/// other). An observation that fails says nothing: false.
async fn holds_after_all<T: Provider>(target: &mut T, op: &Operation, calls: &mut Calls) -> bool {
    let scope = match op {
        Operation::SetParents { name, .. } => Scope::Members(vec![name.clone()]),
        // Gateways and the store: the whole estate, so that a gateway a
        // scoped answer leaves out is never taken for a retired one.
        Operation::RetireGateway { .. } | Operation::StoreFailover { .. } => Scope::All,
    };
    calls.observe += 1;
    let Ok(o) = target.observe(&scope).await else {
        return false;
    };
    effect_holds(op, &o)
}

/// Whether `op`'s effect holds in the observation `o`.
fn effect_holds(op: &Operation, o: &Observed) -> bool {
    match op {
        Operation::SetParents {
            kind,
            name,
            parents,
        } => {
            let list = match kind {
                MemberKind::Gateway => &o.gateways,
                MemberKind::Agent => &o.agents,
            };
            list.iter()
                .any(|m| &m.name == name && &m.parents == parents)
        }
        Operation::RetireGateway { name } => o.gateways.iter().all(|g| &g.name != name),
        Operation::StoreFailover { pool, .. } => o
            .management_store
            .as_ref()
            .is_some_and(|s| s.active_only_in(pool)),
    }
}

/// Observes `scope`, retrying transient errors.
pub(crate) async fn observe<T: Provider + Clock>(
    target: &mut T,
    scope: &Scope,
    policy: &RetryPolicy,
    rng: &mut ChaCha8Rng,
    calls: &mut Calls,
) -> Result<Observed, ProviderError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        calls.observe += 1;
        match target.observe(scope).await {
            Ok(o) => return Ok(o),
            Err(e) if e.is_transient() && attempt < policy.max_attempts.max(1) => {
                calls.retries += 1;
                let d = policy.delay(attempt, rng);
                target.sleep(d).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delay_doubles_is_capped_and_jittered_within_half() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (retry, raw) in [(1, 2000), (2, 4000), (3, 8000), (4, 10000), (9, 10000)] {
            let d = p.delay(retry, &mut rng).as_millis() as u64;
            assert!(d >= raw / 2 && d <= raw, "retry {retry}: {d} ms");
        }
    }

    /// A target whose applies all time out: with `applied`, each is made
    /// (its answer lost); without, none is. With `refuses`, every apply
    /// after the first is refused instead (a provider that no longer finds
    /// what the first one changed).
    struct TimesOut {
        sim: crate::sim::Sim,
        applied: bool,
        refuses: bool,
        calls: u32,
    }

    impl Provider for TimesOut {
        async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
            self.sim.observe_now(scope)
        }

        async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
            self.calls += 1;
            if self.refuses && self.calls > 1 {
                return Err(ProviderError::Permanent("unknown gateway".into()));
            }
            if self.applied {
                let _ = self.sim.apply_now(op);
            }
            Err(ProviderError::Transient("timed out after 2m".into()))
        }
    }

    impl Clock for TimesOut {
        fn now(&self) -> Duration {
            self.sim.now()
        }

        async fn sleep(&mut self, d: Duration) {
            self.sim.advance(d)
        }
    }

    fn n(s: &str) -> crate::name::Name {
        crate::name::Name::parse(s).unwrap()
    }

    /// Every attempt times out: the step is applied when one observation
    /// shows the effect (set_parents, retire_gateway), and failed, with the
    /// last error, when it does not.
    #[test]
    fn a_change_whose_every_answer_was_lost_is_checked_not_failed() {
        let observed = crate::load::observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}, {name: ms2}]\n\
             gateways: [{name: gw1, primary: ms1, connected: ms1}]\n\
             agents: [{name: a1, primary: ms1, connected: ms1}]\n",
            "o.yaml",
        )
        .unwrap();
        let set = Operation::SetParents {
            kind: MemberKind::Agent,
            name: n("a1"),
            parents: crate::model::Parents {
                primary: n("ms2"),
                failover: vec![n("ms1")],
            },
        };
        let retire = Operation::RetireGateway { name: n("gw1") };
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for applied in [true, false] {
            let sim = crate::sim::Sim::from_observed(&observed, crate::sim::SimConfig::seeded(1));
            let mut t = TimesOut {
                sim,
                applied,
                refuses: false,
                calls: 0,
            };
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            for op in [&set, &retire] {
                let mut calls = Calls::default();
                let (attempts, r) = rt.block_on(apply(&mut t, op, &policy, &mut rng, &mut calls));
                assert_eq!((attempts, calls.apply, calls.observe), (3, 3, 1));
                match applied {
                    true => assert_eq!(r, Ok(()), "{op:?}"),
                    false => assert!(r.is_err_and(|e| e.is_transient()), "{op:?}"),
                }
            }
        }
        // A refusal after a lost answer: checked too. A refusal at the first
        // attempt is final at once, without an observation.
        for applied in [true, false] {
            let sim = crate::sim::Sim::from_observed(&observed, crate::sim::SimConfig::seeded(1));
            let mut t = TimesOut {
                sim,
                applied,
                refuses: true,
                calls: 0,
            };
            let mut calls = Calls::default();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let (attempts, r) = rt.block_on(apply(&mut t, &retire, &policy, &mut rng, &mut calls));
            assert_eq!((attempts, calls.observe), (2, 1));
            match applied {
                true => assert_eq!(r, Ok(())),
                false => assert!(r.is_err_and(|e| !e.is_transient())),
            }
            let mut calls = Calls::default();
            let (attempts, r) = rt.block_on(apply(&mut t, &set, &policy, &mut rng, &mut calls));
            assert_eq!((attempts, calls.observe), (1, 0));
            assert!(r.is_err_and(|e| !e.is_transient()));
        }
    }

    #[test]
    fn same_seed_same_delays() {
        let p = RetryPolicy::default();
        let a: Vec<_> = {
            let mut r = ChaCha8Rng::seed_from_u64(7);
            (1..6).map(|i| p.delay(i, &mut r)).collect()
        };
        let b: Vec<_> = {
            let mut r = ChaCha8Rng::seed_from_u64(7);
            (1..6).map(|i| p.delay(i, &mut r)).collect()
        };
        assert_eq!(a, b);
    }
}
