//! A target wrapper that writes every operation it performs to the
//! journal, as it happens: one `write` per record at once (a process killed
//! afterwards still leaves it), fsync'd in groups: before every wait on the
//! target's clock, after [`GROUP`] records, and at the end of the run. A
//! sync per record would cost a disk flush per operation (about 5 ms here:
//! 5 minutes for 60,000 operations); only a power cut can lose the records
//! of the last group.
//!
//! Owns matching an operation to its plan step. Forwards every call
//! unchanged; must not alter behaviour, and a journal that cannot be written
//! does not stop the run (correctness never depends on it): the first error
//! is kept for the caller to report.

use crate::model::{MemberKind, Observed, Parents};
use crate::name::Name;
use crate::plan::{Action, Plan};
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use crate::state::journal::{Journal, Record, now_rfc3339};
use std::collections::HashMap;
use std::time::Duration;

/// What identifies an operation within one plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OpKey {
    Set(MemberKind, Name, Parents),
    Retire(Name),
    Store(Name),
}

fn key_of_op(op: &Operation) -> OpKey {
    match op {
        Operation::SetParents {
            kind,
            name,
            parents,
        } => OpKey::Set(*kind, name.clone(), parents.clone()),
        Operation::RetireGateway { name } => OpKey::Retire(name.clone()),
        Operation::StoreFailover { pool, .. } => OpKey::Store(pool.clone()),
    }
}

fn key_of_action(a: &Action) -> Option<OpKey> {
    match a {
        Action::SetParents { kind, name, .. } => Some(OpKey::Set(
            *kind,
            name.clone(),
            a.parents().expect("set_parents has parents"),
        )),
        Action::RetireGateway { name, .. } => Some(OpKey::Retire(name.clone())),
        Action::StoreFailover { pool, .. } => Some(OpKey::Store(pool.clone())),
        _ => None,
    }
}

/// Records written between two syncs, at most.
pub(crate) const GROUP: usize = 64;

/// Journals each `apply` of the wrapped target as a `step` record.
pub(crate) struct Journaled<'a, T> {
    pub inner: &'a mut T,
    journal: Option<&'a mut Journal>,
    run: String,
    steps: HashMap<OpKey, (u32, &'static str)>,
    /// The first journal write that failed.
    pub error: Option<std::io::Error>,
    unsynced: usize,
}

impl<'a, T> Journaled<'a, T> {
    pub fn new(inner: &'a mut T, journal: Option<&'a mut Journal>, run: &str, plan: &Plan) -> Self {
        let steps = plan
            .steps
            .iter()
            .filter_map(|s| {
                let name = match &s.action {
                    Action::SetParents { .. } => "set_parents",
                    Action::RetireGateway { .. } => "retire_gateway",
                    _ => "store_failover",
                };
                key_of_action(&s.action).map(|k| (k, (s.id, name)))
            })
            .collect();
        Journaled {
            inner,
            journal,
            run: run.to_string(),
            steps,
            error: None,
            unsynced: 0,
        }
    }

    fn failed(&mut self, e: std::io::Error) {
        if self.error.is_none() {
            tracing::warn!(error = %e, "cannot write the journal; carrying on");
            self.error = Some(e);
        }
    }

    /// Syncs the records written since the last sync.
    pub fn sync(&mut self) {
        if self.unsynced == 0 {
            return;
        }
        self.unsynced = 0;
        if let Some(j) = self.journal.as_deref_mut()
            && let Err(e) = j.sync()
        {
            self.failed(e);
        }
    }

    /// A `sending` record for an operation about to go out in a batch.
    fn write_sending(&mut self, op: &Operation) {
        self.write_outcome(op, None);
    }

    fn write(&mut self, op: &Operation, result: &Result<(), ProviderError>) {
        self.write_outcome(op, Some(result));
    }

    fn write_outcome(&mut self, op: &Operation, result: Option<&Result<(), ProviderError>>) {
        let Some(journal) = self.journal.as_deref_mut() else {
            return;
        };
        let (step, action) = self
            .steps
            .get(&key_of_op(op))
            .copied()
            .unwrap_or((0, "operation"));
        let (name, detail) = match op {
            Operation::SetParents { parents, name, .. } => {
                let list: Vec<&str> = parents.iter().map(|n| n.as_str()).collect();
                (name.clone(), format!("parents {}", list.join(", ")))
            }
            Operation::RetireGateway { name } => (name.clone(), String::new()),
            Operation::StoreFailover { pool, mode, .. } => {
                (pool.clone(), format!("{mode:?}").to_lowercase())
            }
        };
        let (outcome, detail) = match result {
            None => ("sending", detail),
            Some(Ok(())) => ("applied", detail),
            Some(Err(ProviderError::Transient(e))) => ("transient_error", e.clone()),
            Some(Err(ProviderError::Permanent(e))) => ("failed", e.clone()),
        };
        let r = Record::Step {
            run: self.run.clone(),
            at: now_rfc3339(),
            step,
            action: action.to_string(),
            name: name.to_string(),
            outcome: outcome.to_string(),
            detail,
        };
        match journal.append_unsynced(&r) {
            Ok(()) => {
                self.unsynced += 1;
                if self.unsynced >= GROUP {
                    self.sync();
                }
            }
            Err(e) => self.failed(e),
        }
    }
}

impl<T: Provider> Provider for Journaled<'_, T> {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.inner.observe(scope).await
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        let r = self.inner.apply(op).await;
        self.write(op, &r);
        r
    }

    /// Journals every operation of the batch (`sending`) and syncs before
    /// the batch goes out, so a crash mid-batch leaves a record of what may
    /// have been applied; then each result as it came.
    async fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ProviderError>>, ProviderError> {
        for op in ops {
            self.write_sending(op);
        }
        self.sync();
        match self.inner.apply_batch(ops).await {
            Ok(r) => {
                for (op, res) in ops.iter().zip(&r) {
                    self.write(op, res);
                }
                Ok(r)
            }
            Err(e) => {
                for op in ops {
                    self.write(op, &Err(e.clone()));
                }
                Err(e)
            }
        }
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    fn counters(&self) -> crate::provider::ProviderCounters {
        self.inner.counters()
    }
}

impl<T: Clock> Clock for Journaled<'_, T> {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.sync();
        self.inner.sleep(d).await
    }
}
