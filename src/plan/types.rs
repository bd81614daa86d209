//! The plan's data: steps, actions, blocked members, summary (SPEC section 4).
//!
//! Serialises to the documented JSON. Plain data; must not touch I/O.

use crate::model::{MemberKind, Parents};
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// The version of the plan JSON this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// An ordered, checked sequence of operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Counts for the one-line summary.
    pub summary: Summary,
    /// The steps; `after` gives their causal order.
    pub steps: Vec<Step>,
    /// Members (and the store) whose change cannot start, with the reason.
    pub blocked: Vec<Blocked>,
}

/// Counts of what a plan does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Steps in the plan.
    pub changes: u64,
    /// Members whose configured parents change.
    pub moves: u64,
    /// Members (and the store) whose change is blocked.
    pub blocked: u64,
    /// Observed agents that no entry and no rule names.
    pub unmanaged: u64,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based, unique within the plan.
    pub id: u32,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// Steps that must finish before this one starts.
    pub after: Vec<u32>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Write a member's parents in the management group (one atomic change).
    SetParents {
        /// Agent or gateway.
        kind: MemberKind,
        /// The member.
        name: Name,
        /// The new primary.
        primary: Name,
        /// The new failovers, in order.
        failover: Vec<Name>,
        /// True when old parents are kept as extra failovers until the
        /// member has connected to its new primary.
        bridge: bool,
    },
    /// Wait until the member is observed connected to `server`.
    AwaitConnected {
        /// Agent or gateway.
        kind: MemberKind,
        /// The member.
        name: Name,
        /// Its new primary.
        server: Name,
    },
    /// Wait until a gateway is up, ready and connected.
    AwaitReady {
        /// Agent or gateway (always gateway today).
        kind: MemberKind,
        /// The gateway.
        name: Name,
    },
    /// Remove a gateway that nothing lists or talks to any more.
    RetireGateway {
        /// Always gateway.
        kind: MemberKind,
        /// The gateway.
        name: Name,
    },
    /// Wait until Central Management Store replication is complete.
    AwaitReplication {
        /// The pool the store will move to.
        pool: Name,
    },
    /// `Invoke-CsManagementServerFailover` on a server of `pool`.
    StoreFailover {
        /// The pool the store moves to.
        pool: Name,
        /// Planned (replication checked) or disaster (`-Force`).
        mode: FailoverMode,
        /// Disaster mode: `-BackupSqlServerFqdn`.
        #[serde(
            rename = "backupSqlServer",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        backup_sql_server: Option<Name>,
        /// Disaster mode: `-BackupSqlInstanceName`.
        #[serde(
            rename = "backupSqlInstance",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        backup_sql_instance: Option<String>,
        /// Disaster mode: `-BackupMirrorSqlServerFqdn`.
        #[serde(
            rename = "backupMirrorSqlServer",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        backup_mirror_sql_server: Option<Name>,
        /// Disaster mode: `-BackupMirrorSqlInstanceName`.
        #[serde(
            rename = "backupMirrorSqlInstance",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        backup_mirror_sql_instance: Option<String>,
    },
    /// Wait until the store is active in `pool`, and in no other.
    AwaitStoreActive {
        /// The pool.
        pool: Name,
    },
}

/// How a store failover is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverMode {
    /// The active pool is up: replication is checked first.
    Planned,
    /// The active pool is down: `-Force`, replication is not checked.
    Disaster,
}

/// What a blocked entry refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockedKind {
    /// A gateway server.
    Gateway,
    /// An agent.
    Agent,
    /// The Central Management Store (named by its desired pool).
    Store,
}

/// A change that cannot start, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// What is blocked.
    pub kind: BlockedKind,
    /// The member, or the store's desired pool.
    pub name: Name,
    /// A sentence an administrator can act on.
    pub reason: String,
}

impl Action {
    /// The member or pool the step is about.
    pub fn subject(&self) -> &Name {
        match self {
            Action::SetParents { name, .. }
            | Action::AwaitConnected { name, .. }
            | Action::AwaitReady { name, .. }
            | Action::RetireGateway { name, .. } => name,
            Action::AwaitReplication { pool }
            | Action::StoreFailover { pool, .. }
            | Action::AwaitStoreActive { pool } => pool,
        }
    }

    /// The parents a `set_parents` step writes.
    pub fn parents(&self) -> Option<Parents> {
        match self {
            Action::SetParents {
                primary, failover, ..
            } => Some(Parents {
                primary: primary.clone(),
                failover: failover.clone(),
            }),
            _ => None,
        }
    }
}
