//! The provider seam: how handover observes and changes a real (or simulated)
//! estate.
//!
//! Owns the [`Provider`] trait (observe; apply one operation), the
//! [`Operation`]s a provider performs, the [`Clock`] the executor waits
//! on, and what a target can tell beyond an observation ([`Inspect`],
//! [`Schedule`]). Every target — the embedded simulator, an `exec:` program, a SCOM
//! PowerShell provider — implements [`Provider`]; the executor is generic
//! over it, so a rehearsal runs the same executor code as a real apply.
//! Must not know about plans or planning.
//!
//! Submodules: [`protocol`] (the exec JSON protocol's wire types), [`exec`]
//! (the `exec:` target), and the `--target` syntax ([`parse_target`]).

mod child;
pub mod evidence;
pub mod exec;
mod inspect;
mod program;
pub mod protocol;
mod session;
mod slot;
mod spec;

pub use inspect::{Inspect, Schedule};
pub use spec::{TargetError, TargetSpec, parse_target};

use crate::model::{MemberKind, Observed, Parents};
use crate::name::Name;
use crate::plan::FailoverMode;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// One change a provider performs. Awaits are not operations: the executor
/// evaluates them against observations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Set a member's primary and failovers in one atomic change
    /// (`AgentManagedComputer.SetManagementServers`).
    SetParents {
        /// Agent or gateway.
        kind: MemberKind,
        /// The member.
        name: Name,
        /// The parents to write.
        #[serde(flatten)]
        parents: Parents,
    },
    /// Remove a gateway from the management group.
    RetireGateway {
        /// The gateway.
        name: Name,
    },
    /// `Invoke-CsManagementServerFailover` towards `pool`.
    StoreFailover {
        /// The pool the store moves to.
        pool: Name,
        /// Planned or disaster.
        mode: FailoverMode,
        /// Disaster mode: `-BackupSqlServerFqdn`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup_sql_server: Option<Name>,
        /// Disaster mode: `-BackupSqlInstanceName`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup_sql_instance: Option<String>,
        /// Disaster mode: `-BackupMirrorSqlServerFqdn`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup_mirror_sql_server: Option<Name>,
        /// Disaster mode: `-BackupMirrorSqlInstanceName`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup_mirror_sql_instance: Option<String>,
        /// `-Restore`: also restore the existing store database. Absent
        /// means false.
        #[serde(default, skip_serializing_if = "is_false")]
        restore: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an observation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole estate.
    All,
    /// Only these members (and every server, which is cheap): used to poll
    /// in-flight members without re-reading 100,000 agents.
    Members(Vec<Name>),
}

/// Why a provider call failed; the executor branches on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying with backoff (a timeout, a busy SDK service).
    #[error("transient provider error: {0}")]
    Transient(String),
    /// Will not succeed on retry; stops only the affected member's chain.
    #[error("provider error: {0}")]
    Permanent(String),
}

impl ProviderError {
    /// True when a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient(_))
    }
}

/// A target handover can observe and change.
pub trait Provider {
    /// Reads the current state of the estate (or of `scope`'s members).
    fn observe(&mut self, scope: &Scope) -> impl Future<Output = Result<Observed, ProviderError>>;

    /// Performs one operation. It must be idempotent: applying an operation
    /// whose effect already holds succeeds and changes nothing.
    fn apply(&mut self, op: &Operation) -> impl Future<Output = Result<(), ProviderError>>;

    /// Performs several operations, one result each, in order: one
    /// operation's error does not fail the others. The outer error means
    /// the request as a whole failed (nothing, or an unknown subset,
    /// applied: the caller observes again). By default one [`apply`] after
    /// another; a version 2 exec provider sends them as batches of at most
    /// [`max_batch`].
    ///
    /// [`apply`]: Provider::apply
    /// [`max_batch`]: Provider::max_batch
    fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> impl Future<Output = Result<Vec<Result<(), ProviderError>>, ProviderError>> {
        async move {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                out.push(self.apply(op).await);
            }
            Ok(out)
        }
    }

    /// Operations worth handing to one [`apply_batch`] call (1: the
    /// target gains nothing from batches).
    ///
    /// [`apply_batch`]: Provider::apply_batch
    fn max_batch(&self) -> usize {
        1
    }

    /// Processes started and sessions restarted so far (zero for targets
    /// that run no program).
    fn counters(&self) -> ProviderCounters {
        ProviderCounters::default()
    }
}

/// What running a provider program has cost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProviderCounters {
    /// Processes started: one per call in protocol version 1, one per
    /// session in version 2 (plus the `capabilities` call).
    pub process_starts: u64,
    /// Version 2 sessions killed after a fault (a hang, garbage, an exit
    /// mid-session) and started again.
    pub restarts: u64,
}

/// Time as the executor sees it: wall-clock for real targets, virtual for
/// the simulator (where sleeping advances the simulated estate).
pub trait Clock {
    /// Time since the clock's origin.
    fn now(&self) -> Duration;

    /// Waits `d`. A virtual clock returns at once, having advanced.
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()>;
}

/// The wall clock, for real targets.
#[derive(Debug)]
pub struct WallClock {
    start: tokio::time::Instant,
}

impl WallClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        WallClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::time::sleep(d).await
    }
}
