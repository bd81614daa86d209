//! The desired topology (`kind: Topology`): what the team committed to git.
//!
//! Plain data with the source position of every definition and reference,
//! so validation can point at `file:line:column`. Must not touch I/O; the
//! loader builds it and validation checks it.

use super::member::Parents;
use super::policy::Policy;
use crate::diag::Pos;
use crate::name::Name;

/// A desired topology, possibly merged from several files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Topology {
    /// `metadata.name`: the management group.
    pub group: Option<String>,
    /// Management servers that may be parents.
    pub management_servers: Vec<ServerDef>,
    /// Gateways with their desired parents.
    pub gateways: Vec<MemberDef>,
    /// Agents listed by name; they win over rules.
    pub agents: Vec<MemberDef>,
    /// Fleet rules for agents not listed by name; the first match wins.
    pub agent_rules: Vec<AgentRule>,
    /// Where the Central Management Store should be active, if managed.
    pub management_store: Option<StoreSpec>,
    /// How the migration may proceed.
    pub policy: Policy,
    /// Where `policy:` was written, when it was.
    pub policy_pos: Option<Pos>,
}

/// A management server definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerDef {
    /// Its host name.
    pub name: Name,
    /// Where the name was written.
    pub pos: Pos,
}

/// A gateway or agent with its desired parents.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberDef {
    /// Its host name.
    pub name: Name,
    /// Its desired primary and failovers.
    pub parents: Parents,
    /// Where the name was written.
    pub pos: Pos,
    /// Where the primary was written.
    pub primary_pos: Pos,
    /// Where each failover was written, parallel to `parents.failover`.
    pub failover_pos: Vec<Pos>,
}

/// One entry of `agentRules`.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRule {
    /// The glob, case-insensitive (`*.dmz.contoso.local`).
    pub pattern: String,
    /// What matching agents get.
    pub assign: RuleAssign,
    /// Where the rule's `match` was written.
    pub pos: Pos,
}

/// What a rule assigns.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleAssign {
    /// Fixed parents for every matching agent.
    Fixed(Parents),
    /// A balanced assignment across a pool of parents.
    Spread {
        /// The pool, in the order written.
        pool: Vec<Name>,
        /// How many failovers each agent gets from the pool.
        failover_count: u32,
    },
}

/// `managementStore:`: where the Central Management Store should be active.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreSpec {
    /// The pool where it should be active.
    pub pool: Name,
    /// Where `pool` was written.
    pub pos: Pos,
    /// Disaster-recovery failover, opt-in.
    pub disaster_recovery: DisasterRecovery,
    /// `managementStore.restore`: a failover to `pool` also restores the
    /// existing store database (`-Restore`). Part of the failover, never an
    /// operation of its own: nothing happens while the store is already
    /// active in `pool` (docs/store.md).
    pub restore: bool,
}

/// `managementStore.disasterRecovery`: what a failover while the active pool
/// is down may use (`Invoke-CsManagementServerFailover -Force`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DisasterRecovery {
    /// Opt-in: fail over while the active pool is down.
    pub allowed: bool,
    /// `-BackupSqlServerFqdn`.
    pub backup_sql_server: Option<Name>,
    /// `-BackupSqlInstanceName`.
    pub backup_sql_instance: Option<String>,
    /// `-BackupMirrorSqlServerFqdn`.
    pub backup_mirror_sql_server: Option<Name>,
    /// `-BackupMirrorSqlInstanceName`.
    pub backup_mirror_sql_instance: Option<String>,
}

impl Topology {
    /// True when `name` is a management server of this topology.
    pub fn is_management_server(&self, name: &Name) -> bool {
        self.management_servers.iter().any(|m| &m.name == name)
    }
}
