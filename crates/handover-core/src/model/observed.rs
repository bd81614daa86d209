//! The observed state (`kind: Observed`): what a target reports.
//!
//! What `export` prints, what a simulation starts from, what the planner
//! diffs against. Plain data that serialises to and from the documented
//! YAML/JSON shape; must not touch I/O.
//!
//! The health a provider may report for a management server or gateway is
//! written inside that server's entry (`health: {state, sendQueueSize}`)
//! but kept beside the lists, by server name ([`Observed::health`]): it is
//! a reading only a rollout's analysis judges, never configuration the
//! planner or the observed digest looks at. `wire` carries the documented
//! shape.

use super::health::Health;
use super::member::{API_VERSION, Parents};
use crate::name::Name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod wire;

/// The observed state of one management group (and, optionally, the store).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "wire::ObservedIn")]
pub struct Observed {
    /// Always `handover/v1`.
    pub api_version: String,
    /// Always `Observed`.
    pub kind: String,
    /// Management servers and whether each is up.
    pub management_servers: Vec<ObservedServer>,
    /// Gateways: their parents, connection, health and readiness.
    pub gateways: Vec<ObservedMember>,
    /// Agents: their parents and connection.
    pub agents: Vec<ObservedMember>,
    /// The Central Management Store, when the target has one.
    pub management_store: Option<ObservedStore>,
    /// The health reported for management servers and gateways, by server
    /// name (written inside each server's entry). A server without an
    /// entry reported none, and its health is not judged.
    pub health: BTreeMap<Name, Health>,
}

fn api_version() -> String {
    API_VERSION.to_string()
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
    /// Facts the provider read about the member (what it has learned, its
    /// last heartbeat); handover judges `connected` and `ready` from them
    /// (`crate::provider::evidence`). Absent: the provider judged itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Box<Evidence>>,
}

/// Facts about one member, not judgements: what the provider read, with
/// the times on the provider's side (docs/provider-protocol.md section 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evidence {
    /// The provider's clock when it read these facts: how handover relates
    /// the other times to its own clock.
    pub observed_at: Stamp,
    /// The parents the member itself has learned (its `Parent Health
    /// Services` list), when the provider could read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<Learned>,
    /// Its last heartbeat, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Heartbeat>,
    /// When it last applied a new configuration (event 1210). Reported as
    /// a fact; never positive evidence on its own (any management pack
    /// import raises it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_applied_at: Option<Stamp>,
}

/// The parent list a member has learned, as the member read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Learned {
    /// The learned primary first, then the learned failovers in order.
    pub parents: Vec<Name>,
    /// When the member read them (provider's clock).
    pub at: Stamp,
}

/// A member's last heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// When it arrived (provider's clock).
    pub at: Stamp,
    /// The server it arrived through, when the provider can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Name>,
}

/// A point in time, UTC, to the millisecond: written as RFC 3339
/// (`2026-12-07T20:31:05Z`, fractions of a second allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

impl Stamp {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 in UTC (`Z`); the error says what is expected.
    pub fn parse(s: &str) -> Result<Stamp, String> {
        let t = humantime::parse_rfc3339(s).map_err(|e| {
            format!("{s:?} is not a UTC time ({e}); write it like 2026-12-07T20:31:05Z")
        })?;
        Ok(Stamp::from_system(t))
    }

    /// The stamp of a system time (times before 1970 count negative).
    pub fn from_system(t: std::time::SystemTime) -> Stamp {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Stamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Stamp(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = if self.0 >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.0 as u64)
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_millis(self.0.unsigned_abs())
        };
        write!(f, "{}", humantime::format_rfc3339_millis(t))
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Stamp::parse(&s).map_err(serde::de::Error::custom)
    }
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
