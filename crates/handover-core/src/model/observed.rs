//! The observed state (`kind: Observed`): what a target reports.
//!
//! What `export` prints, what a simulation starts from, what the planner
//! diffs against. Plain data that serialises to and from the documented
//! YAML/JSON shape; must not touch I/O.

use super::Parents;
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// The observed state of one management group (and, optionally, the store).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Observed {
    /// Always `handover/v1`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Always `Observed`.
    #[serde(default = "kind")]
    pub kind: String,
    /// Management servers and whether each is up.
    #[serde(default)]
    pub management_servers: Vec<ObservedServer>,
    /// Gateways: their parents, connection, health and readiness.
    #[serde(default)]
    pub gateways: Vec<ObservedMember>,
    /// Agents: their parents and connection.
    #[serde(default)]
    pub agents: Vec<ObservedMember>,
    /// The Central Management Store, when the target has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_store: Option<ObservedStore>,
}

fn api_version() -> String {
    super::API_VERSION.to_string()
}

fn kind() -> String {
    "Observed".to_string()
}

/// A management server as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedServer {
    /// Its host name.
    pub name: Name,
    /// Whether it is running and accepting members.
    #[serde(default = "yes")]
    pub up: bool,
}

/// A gateway or agent as observed.
///
/// (serde cannot combine `flatten` with `deny_unknown_fields`; the YAML
/// loader enforces unknown fields itself, with positions.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedMember {
    /// Its host name.
    pub name: Name,
    /// Its configured parents, as the management group holds them.
    #[serde(flatten)]
    pub parents: Parents,
    /// The parent it talks to now; `None` when disconnected or offline.
    #[serde(default)]
    pub connected: Option<Name>,
    /// Gateways: whether the server is running. Agents: always true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub up: bool,
    /// Gateways: approved, certificate imported, initial configuration
    /// received. Agents: always true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub ready: bool,
}

/// The Central Management Store as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObservedStore {
    /// The pool where the store is active; `None` when it is unavailable.
    #[serde(default)]
    pub active_pool: Option<Name>,
    /// Pools that can host the store, and whether each is up.
    #[serde(default)]
    pub pools: Vec<ObservedPool>,
    /// Every replica up to date.
    #[serde(default)]
    pub replication_complete: bool,
}

/// A pool as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedPool {
    /// Its FQDN.
    pub name: Name,
    /// Whether it is running.
    #[serde(default = "yes")]
    pub up: bool,
    /// The store also reports itself active in this pool, although
    /// `activePool` names another one: the Skype for Business 2015 RTM
    /// hazard of a store active in two pools. Absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub active: bool,
}

impl ObservedStore {
    /// Every pool where the store is active: `activePool`, then each pool
    /// marked `active: true`, without repeats, in that order.
    pub fn active_pools(&self) -> Vec<&Name> {
        let mut out: Vec<&Name> = self.active_pool.iter().collect();
        for p in &self.pools {
            if p.active && !out.contains(&&p.name) {
                out.push(&p.name);
            }
        }
        out
    }

    /// True when the store is active in `pool` and in no other pool.
    pub fn active_only_in(&self, pool: &Name) -> bool {
        self.active_pools() == [pool]
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Observed {
    /// An empty observed document with the right header.
    pub fn new() -> Self {
        Observed {
            api_version: api_version(),
            kind: kind(),
            ..Default::default()
        }
    }
}
