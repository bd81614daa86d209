//! The plan's data: steps, actions, blocked members, summary (docs/spec.md section 4).
//!
//! Serialises to the documented JSON. Plain data; must not touch I/O.

pub use crate::model::ServerKind;
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
    /// A stable hash of the observed facts this plan was computed from
    /// (see [`crate::plan::digest`]); `apply PLANFILE` compares it with a
    /// fresh observation to refuse a stale plan. Absent in hand-made plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_digest: Option<String>,
    /// The topology's window and timeouts the plan was made under, so
    /// `apply PLANFILE` keeps them (an extra field, docs/spec.md section 4).
    /// Absent in hand-made plans and plans from older releases: `apply`
    /// then uses the defaults unless flags say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PlanPolicy>,
    /// The topology's change windows and, above `policy.approval`, the
    /// digest that needs approval, so `apply PLANFILE` checks the same
    /// gates as `apply --desired` (docs/gates.md). Absent when the
    /// topology has neither, and in plans from older releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<PlanGates>,
    /// Each parent's agents before and after, against its capacity (the
    /// load table of `handover plan`). Information only: applying a plan
    /// never reads it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loads: Vec<crate::assign::Load>,
    /// Agents a `spread` rule kept where they are, and why (information).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<AgentNote>,
    /// How long the plan is forecast to take against the real estate, and
    /// where the time goes (`handover plan` fills it in). Information
    /// only: applying a plan never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<super::estimate::Forecast>,
    /// Made by the `direct` strategy (the console's way, which exists to
    /// show the hazard): the executor does not re-check its removals. Never
    /// read from or written to a plan file, so no file can turn the
    /// re-check off.
    #[serde(skip)]
    pub direct: bool,
}

/// The part of `policy:` that applying a plan needs, recorded in the plan
/// file: the window of docs/spec.md rule 5 and the timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPolicy {
    /// `policy.maxInFlight`: members in a bridge at once.
    pub max_in_flight: u32,
    /// `policy.ackTimeout`, as `30m`.
    pub ack_timeout: crate::model::Seconds,
    /// `policy.storeTimeout`, as `30m`.
    pub store_timeout: crate::model::Seconds,
    /// The topology has `policy.rollout`: `apply PLANFILE` refuses the
    /// plan (a rollout plans each step again; docs/rollouts.md). Absent
    /// when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollout: bool,
}

/// The gates a plan was made under (`policy.windows`, `policy.approval`),
/// recorded in the plan file for `apply PLANFILE`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanGates {
    /// `policy.windows`, as in the topology; empty: always open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<crate::model::Window>,
    /// The approval the plan needs: set when its changes are above
    /// `policy.approval`, whether or not the digest was approved yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<PlanApproval>,
}

/// What a plan above `policy.approval` needs approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanApproval {
    /// The digest of its changes ([`crate::plan::approval::digest`]).
    pub digest: String,
    /// How many members it moves.
    pub members: u64,
    /// How many members the topology manages.
    pub managed: u64,
    /// `policy.approval`.
    pub threshold: crate::model::Approval,
}

impl PlanPolicy {
    /// The fields of `policy` a plan records.
    pub fn of(policy: &crate::model::Policy) -> Self {
        PlanPolicy {
            max_in_flight: policy.max_in_flight,
            ack_timeout: policy.ack_timeout,
            store_timeout: policy.store_timeout,
            rollout: policy.rollout.is_some(),
        }
    }
}

/// An agent the assignment kept where it is, with the reason in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentNote {
    /// The agent.
    pub name: Name,
    /// Why it stays (e.g. kept on a gateway that is not ready).
    pub note: String,
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
    /// Members that pass through a bridge (including those found in one).
    #[serde(default)]
    pub bridged: u64,
    /// Observed gateways absent from the topology and left alone because
    /// `policy.retireGateways` is not set.
    #[serde(default)]
    pub unmanaged_gateways: u64,
    /// Gateways the plan retires.
    #[serde(default)]
    pub retired: u64,
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
    #[serde(rename_all = "camelCase")]
    StoreFailover {
        /// The pool the store moves to.
        pool: Name,
        /// Planned (replication checked) or disaster (`-Force`).
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
        /// `-Restore`: the failover also restores the existing store
        /// database (`managementStore.restore`). Absent means false.
        #[serde(default, skip_serializing_if = "is_false")]
        restore: bool,
    },
    /// Wait until the store is active in `pool`, and in no other.
    AwaitStoreActive {
        /// The pool.
        pool: Name,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
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
///
/// Serialised as `{"kind", "name", "reason": "<sentence>", "code": "...",
/// ...details}`: `reason` is the sentence for people, `code` and the detail
/// fields are for programs (see [`BlockReason`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "BlockedWire", from = "BlockedWire")]
pub struct Blocked {
    /// What is blocked.
    pub kind: BlockedKind,
    /// The member, or the store's desired pool.
    pub name: Name,
    /// Why, typed.
    pub reason: BlockReason,
}

impl Blocked {
    /// A blocked entry.
    pub fn new(kind: BlockedKind, name: Name, reason: BlockReason) -> Self {
        Blocked { kind, name, reason }
    }
}

/// The JSON shape of [`Blocked`]: the sentence next to the typed fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct BlockedWire {
    kind: BlockedKind,
    name: Name,
    #[serde(default)]
    reason: String,
    #[serde(flatten)]
    cause: BlockReason,
}

impl From<Blocked> for BlockedWire {
    fn from(b: Blocked) -> Self {
        BlockedWire {
            kind: b.kind,
            reason: b.reason.to_string(),
            name: b.name,
            cause: b.reason,
        }
    }
}

impl From<BlockedWire> for Blocked {
    fn from(w: BlockedWire) -> Self {
        Blocked {
            kind: w.kind,
            name: w.name,
            reason: w.cause,
        }
    }
}

/// Why a change cannot start. `code` in JSON is the variant in snake_case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum BlockReason {
    /// The member is in the topology but the target does not report it.
    #[error(
        "it is not in the observed state; install and approve it (or remove it from the topology)"
    )]
    NotObserved,
    /// A parent it would move onto is not in the observed state.
    #[error(
        "its new parent {parent} is not in the observed state; install and approve the {} first",
        parent_kind.as_str()
    )]
    ParentAbsent {
        /// The parent.
        parent: Name,
        /// What the parent is.
        parent_kind: ServerKind,
    },
    /// A parent it would move onto is down.
    #[error("its new parent {} {parent} is down; bring it up, then plan again", parent_kind.as_str())]
    ParentDown {
        /// The parent.
        parent: Name,
        /// What the parent is.
        parent_kind: ServerKind,
    },
    /// A gateway it would move onto is not ready.
    #[error(
        "its new parent gateway {parent} is not ready (approval, certificate or initial configuration missing); finish its set-up, then plan again"
    )]
    ParentNotReady {
        /// The parent.
        parent: Name,
    },
    /// A gateway it would move onto is not connected to any parent.
    #[error(
        "its new parent gateway {parent} is not connected to a management server or gateway; repair it, then plan again"
    )]
    ParentNotConnected {
        /// The parent.
        parent: Name,
    },
    /// The desired gateway chain contains a cycle through this gateway.
    #[error("its desired parents lead into a cycle of gateways; fix the topology")]
    ParentCycle,
    /// A gateway it would move onto has a configured primary chain that
    /// comes back to a gateway already on it (often the member itself), as
    /// it will stand when the move runs. Members fail back along their
    /// primary chain at any time, so such a chain cuts everything on it
    /// off every management server.
    #[error(
        "its new parent gateway {parent} does not lead to a management server: its primary chain runs {}, back to {}; members fail back along their primary chain, so this would cut them off every management server; move the gateways of that chain first, then plan again",
        chain_text(chain),
        chain.last().map(Name::as_str).unwrap_or_default()
    )]
    ParentChainLoop {
        /// The gateway it would move onto.
        parent: Name,
        /// The chain from `parent`, each gateway's configured primary in
        /// turn, ending with the gateway it comes back to: the member
        /// itself, or a gateway met earlier in the chain.
        chain: Vec<Name>,
    },
    /// A gateway it would move onto has a configured primary chain that
    /// ends at a server that is neither an observed management server nor
    /// an observed gateway.
    #[error(
        "its new parent gateway {parent} does not lead to a management server: its primary chain runs {} and ends at {end}, which is not an observed management server or gateway; repair that chain, then plan again",
        chain_text(chain)
    )]
    ParentChainBroken {
        /// The gateway it would move onto.
        parent: Name,
        /// The gateways of the chain from `parent`, in order.
        chain: Vec<Name>,
        /// Where the chain ends.
        end: Name,
    },
    /// Its move and another gateway's move would each have to wait for the
    /// other (the chain of one's new failover runs through the other). The
    /// planner moves neither; change one of them at a time.
    #[error(
        "its move and gateway {with}'s move would each have to wait for the other (each one's new parents lead through the other's chain); change one of them at a time in the topology"
    )]
    ChainOrderCycle {
        /// The other gateway.
        with: Name,
    },
    /// A gateway to retire is still listed by, or connected to, a member
    /// whose change does not remove it.
    #[error(
        "it cannot be retired: {by} still lists it or is connected to it{}; move those members first",
        if *others > 0 { format!(" (and {others} more)") } else { String::new() }
    )]
    GatewayInUse {
        /// The first such member, by name.
        by: Name,
        /// How many more.
        others: u64,
    },
    /// The target reports no Central Management Store.
    #[error("the target reports no Central Management Store")]
    StoreNotObserved,
    /// The desired pool is not among the observed pools.
    #[error("pool {pool} is not among the observed pools; check managementStore.pool")]
    StorePoolAbsent {
        /// The pool.
        pool: Name,
    },
    /// The desired pool is down.
    #[error("pool {pool} is down; bring it up, then plan again")]
    StorePoolDown {
        /// The pool.
        pool: Name,
    },
    /// The active pool is down (or no pool is active) and disaster
    /// recovery is not allowed.
    #[error(
        "{} and a failover would need disaster-recovery mode; set managementStore.disasterRecovery.allowed: true and backupSqlServer to allow it",
        store_state(active.as_ref())
    )]
    DisasterRecoveryNotAllowed {
        /// The active pool, if any.
        active: Option<Name>,
    },
    /// Disaster recovery is allowed but no backup SQL server is named.
    #[error(
        "{} and disaster recovery is allowed, but no backup SQL server is named; set managementStore.disasterRecovery.backupSqlServer",
        store_state(active.as_ref())
    )]
    BackupSqlServerMissing {
        /// The active pool, if any.
        active: Option<Name>,
    },
    /// The store is active in more than one pool at once (a failover on
    /// Skype for Business 2015 RTM can leave it so). No failover repairs
    /// that; a person must.
    #[error(
        "the store is active in {} pools at once ({}); this is the Skype for Business 2015 RTM hazard and no failover repairs it: make it active in one pool by hand (check Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus), then plan again",
        pools.len(),
        pools.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    )]
    StoreActiveInSeveralPools {
        /// The pools where it is active.
        pools: Vec<Name>,
    },
    /// The store is not reported active in any pool: a failover is under
    /// way, or the target cannot tell. Never a reason for a
    /// disaster-recovery failover, which needs the active pool observed
    /// down (docs/spec.md rule 3.7).
    #[error(
        "the target reports the store active in no pool (a failover may be under way, or the provider cannot tell); a disaster-recovery failover needs the active pool observed down, so nothing is done: wait, check Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus, then plan again"
    )]
    StoreActivePoolUnknown,
}

/// A chain of gateways as `gw1 → gw2 → gw3`.
fn chain_text(chain: &[Name]) -> String {
    chain
        .iter()
        .map(Name::as_str)
        .collect::<Vec<_>>()
        .join(" → ")
}

fn store_state(active: Option<&Name>) -> String {
    match active {
        Some(p) => format!("the active pool {p} is down"),
        None => "the store is not active in any pool".to_string(),
    }
}

impl BlockReason {
    /// The stable machine code (`parent_not_ready`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            BlockReason::NotObserved => "not_observed",
            BlockReason::ParentAbsent { .. } => "parent_absent",
            BlockReason::ParentDown { .. } => "parent_down",
            BlockReason::ParentNotReady { .. } => "parent_not_ready",
            BlockReason::ParentNotConnected { .. } => "parent_not_connected",
            BlockReason::ParentCycle => "parent_cycle",
            BlockReason::ParentChainLoop { .. } => "parent_chain_loop",
            BlockReason::ParentChainBroken { .. } => "parent_chain_broken",
            BlockReason::ChainOrderCycle { .. } => "chain_order_cycle",
            BlockReason::GatewayInUse { .. } => "gateway_in_use",
            BlockReason::StoreNotObserved => "store_not_observed",
            BlockReason::StorePoolAbsent { .. } => "store_pool_absent",
            BlockReason::StorePoolDown { .. } => "store_pool_down",
            BlockReason::DisasterRecoveryNotAllowed { .. } => "disaster_recovery_not_allowed",
            BlockReason::BackupSqlServerMissing { .. } => "backup_sql_server_missing",
            BlockReason::StoreActiveInSeveralPools { .. } => "store_active_in_several_pools",
            BlockReason::StoreActivePoolUnknown => "store_active_pool_unknown",
        }
    }

    /// The parent server the reason is about, when there is one.
    pub fn parent(&self) -> Option<&Name> {
        match self {
            BlockReason::ParentAbsent { parent, .. }
            | BlockReason::ParentDown { parent, .. }
            | BlockReason::ParentNotReady { parent }
            | BlockReason::ParentNotConnected { parent }
            | BlockReason::ParentChainLoop { parent, .. }
            | BlockReason::ParentChainBroken { parent, .. } => Some(parent),
            _ => None,
        }
    }

    /// Every server the reason depends on: the parent, and the gateways of
    /// a chain it names (for the digest).
    pub fn servers(&self) -> Vec<&Name> {
        match self {
            BlockReason::ParentChainLoop { chain, .. } => chain.iter().collect(),
            BlockReason::ParentChainBroken { chain, end, .. } => {
                chain.iter().chain(std::iter::once(end)).collect()
            }
            BlockReason::ChainOrderCycle { with } => vec![with],
            other => other.parent().into_iter().collect(),
        }
    }
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

impl Plan {
    /// A plan with these steps and blocked entries; the summary counts the
    /// steps, moves and bridges and the blocked entries; `unmanaged` and the
    /// other observed counts start at zero for the caller to fill.
    pub fn new(steps: Vec<Step>, blocked: Vec<Blocked>) -> Self {
        let mut moved =
            crate::hash::FastSet::with_capacity_and_hasher(steps.len(), Default::default());
        let mut bridged =
            crate::hash::FastSet::with_capacity_and_hasher(steps.len(), Default::default());
        let mut retired = 0;
        for s in &steps {
            match &s.action {
                Action::SetParents { kind, name, .. } => {
                    moved.insert((*kind, name));
                }
                Action::AwaitConnected { kind, name, .. } => {
                    bridged.insert((*kind, name));
                }
                Action::RetireGateway { .. } => retired += 1,
                _ => {}
            }
        }
        let summary = Summary {
            changes: steps.len() as u64,
            moves: moved.len() as u64,
            blocked: blocked.len() as u64,
            bridged: bridged.len() as u64,
            retired,
            ..Summary::default()
        };
        Plan {
            format_version: FORMAT_VERSION,
            summary,
            steps,
            blocked,
            observed_digest: None,
            policy: None,
            gates: None,
            loads: Vec::new(),
            notes: Vec::new(),
            forecast: None,
            direct: false,
        }
    }

    /// True when the observed state already equals the desired one: no steps
    /// and nothing blocked (`--detailed-exitcode` 0).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.blocked.is_empty()
    }

    /// The gateways this plan retires, in step order.
    pub fn retired_gateways(&self) -> impl Iterator<Item = &Name> {
        self.steps.iter().filter_map(|s| match &s.action {
            Action::RetireGateway { name, .. } => Some(name),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_serialises_sentence_and_code_and_reads_back() {
        let b = Blocked::new(
            BlockedKind::Agent,
            Name::parse("web01").unwrap(),
            BlockReason::ParentNotReady {
                parent: Name::parse("gw2").unwrap(),
            },
        );
        let j = serde_json::to_string(&b).unwrap();
        assert_eq!(
            j,
            r#"{"kind":"agent","name":"web01","reason":"its new parent gateway gw2 is not ready (approval, certificate or initial configuration missing); finish its set-up, then plan again","code":"parent_not_ready","parent":"gw2"}"#
        );
        let back: Blocked = serde_json::from_str(&j).unwrap();
        assert_eq!(back, b);
        assert_eq!(b.reason.code(), "parent_not_ready");
    }
}
