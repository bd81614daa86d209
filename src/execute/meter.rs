//! A measuring wrapper around a target, for rehearsals: it watches what is
//! actually written to the provider and counts, independently of the
//! executor's own bookkeeping, how many members are in a bridge at once,
//! which members were moved, and how many calls were made.
//!
//! Forwards every call unchanged; must not alter behaviour.

use super::classify::{desired_parents, is_bridge_of};
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{MemberKind, Observed, Parents, Topology};
use crate::name::Name;
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use std::collections::BTreeSet;
use std::time::Duration;

pub(crate) struct Meter<'t, T> {
    pub inner: &'t mut T,
    desired: HashMap<(MemberKind, Name), Parents>,
    bridged: HashSet<(MemberKind, Name)>,
    /// Most members in a bridge at once, as written to the provider.
    pub max_bridged: usize,
    /// Members whose parents were written successfully.
    pub moved: BTreeSet<(MemberKind, Name)>,
    /// `apply` calls, retries included.
    pub apply_calls: u64,
    /// `observe` calls, retries included.
    pub observe_calls: u64,
}

impl<'t, T> Meter<'t, T> {
    pub fn new(inner: &'t mut T) -> Self {
        Meter {
            inner,
            desired: HashMap::default(),
            bridged: HashSet::default(),
            max_bridged: 0,
            moved: BTreeSet::new(),
            apply_calls: 0,
            observe_calls: 0,
        }
    }

    /// Learns the desired parents and the members already in a bridge.
    pub fn start(&mut self, desired: &Topology, observed: &Observed) {
        self.desired = desired_parents(desired, observed);
        for (kind, list) in [
            (MemberKind::Gateway, &observed.gateways),
            (MemberKind::Agent, &observed.agents),
        ] {
            for m in list {
                let key = (kind, m.name.clone());
                if self
                    .desired
                    .get(&key)
                    .is_some_and(|d| is_bridge_of(d, &m.parents))
                {
                    self.bridged.insert(key);
                }
            }
        }
        self.max_bridged = self.max_bridged.max(self.bridged.len());
    }

    fn record(&mut self, op: &Operation) {
        if let Operation::SetParents {
            kind,
            name,
            parents,
        } = op
        {
            let key = (*kind, name.clone());
            let bridge = self
                .desired
                .get(&key)
                .is_some_and(|d| is_bridge_of(d, parents));
            self.moved.insert(key.clone());
            if bridge {
                self.bridged.insert(key);
                self.max_bridged = self.max_bridged.max(self.bridged.len());
            } else {
                self.bridged.remove(&key);
            }
        }
    }
}

impl<T: Provider> Provider for Meter<'_, T> {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.observe_calls += 1;
        self.inner.observe(scope).await
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.apply_calls += 1;
        let r = self.inner.apply(op).await;
        if r.is_ok() {
            self.record(op);
        }
        r
    }

    async fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ProviderError>>, ProviderError> {
        self.apply_calls += 1;
        let r = self.inner.apply_batch(ops).await?;
        for (op, res) in ops.iter().zip(&r) {
            if res.is_ok() {
                self.record(op);
            }
        }
        Ok(r)
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    fn counters(&self) -> crate::provider::ProviderCounters {
        self.inner.counters()
    }
}

impl<T: Clock> Clock for Meter<'_, T> {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.inner.sleep(d).await
    }
}
