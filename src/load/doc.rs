//! The document shapes as written in files (SPEC section 2), with source
//! spans: what serde reads before names are checked and the model is built.
//!
//! Owns the file syntax only: field names, nesting, which fields exist
//! (`deny_unknown_fields` everywhere). These types also generate the JSON
//! Schema (`handover schema`). Must not check relations between names; that
//! is `crate::validate`'s job.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A string with the place it was written.
pub type Text = Spanned<String>;

/// Just enough of any document to tell which kind it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderDoc {
    /// `kind:`, when present.
    pub kind: Option<Text>,
}

/// `kind: Topology`: a desired topology (or one file of a directory of them).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "handover Topology",
    description = "A desired SCOM / Skype for Business topology (handover/v1)."
)]
pub struct TopologyDoc {
    /// Always `handover/v1`.
    #[schemars(with = "ApiVersion")]
    pub api_version: Text,
    /// Always `Topology`.
    #[schemars(with = "TopologyKind")]
    pub kind: Text,
    /// `metadata.name`: the management group.
    pub metadata: Option<MetadataDoc>,
    /// Management servers that may be parents.
    #[serde(default)]
    pub management_servers: Vec<ServerDoc>,
    /// Gateways with their desired parents.
    #[serde(default)]
    pub gateways: Vec<MemberDoc>,
    /// Agents listed by name; they win over rules.
    #[serde(default)]
    pub agents: Vec<MemberDoc>,
    /// Fleet rules; the first match wins.
    #[serde(default)]
    pub agent_rules: Vec<RuleDoc>,
    /// Where the Central Management Store should be active.
    pub management_store: Option<StoreDoc>,
    /// How the migration may proceed.
    pub policy: Option<PolicyDoc>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum ApiVersion {
    #[serde(rename = "handover/v1")]
    V1,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum TopologyKind {
    Topology,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum ObservedKind {
    Observed,
}

/// A host name: letters, digits, `-` and `.`; labels of 1 to 63; at most 253.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct HostName(
    #[schemars(
        regex(
            pattern = r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
        ),
        length(min = 1, max = 253)
    )]
    String,
);

/// A duration: a whole number followed by s, m or h.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Duration(#[schemars(regex(pattern = r"^[0-9]+[smh]$"))] String);

/// `metadata:`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataDoc {
    /// The management group.
    #[schemars(with = "Option<String>")]
    pub name: Option<Text>,
}

/// A management server (desired) .
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerDoc {
    /// Its host name.
    #[schemars(with = "HostName")]
    pub name: Text,
}

/// A gateway or agent with its desired parents.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberDoc {
    /// Its host name.
    #[schemars(with = "HostName")]
    pub name: Text,
    /// The management server or gateway it reports to.
    #[schemars(with = "HostName")]
    pub primary: Text,
    /// Ordered failover parents; may be empty or absent.
    #[serde(default)]
    #[schemars(with = "Vec<HostName>")]
    pub failover: Vec<Text>,
}

/// One entry of `agentRules`: `match` plus either `primary` or `spread`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleDoc {
    /// Glob over agent names, case-insensitive (`*`, `?`, `[...]`).
    #[serde(rename = "match")]
    #[schemars(with = "String")]
    pub pattern: Text,
    /// Fixed primary for every matching agent.
    #[schemars(with = "Option<HostName>")]
    pub primary: Option<Text>,
    /// Fixed failovers (with `primary`).
    #[schemars(with = "Option<Vec<HostName>>")]
    pub failover: Option<Vec<Text>>,
    /// A pool of parents to balance matching agents across.
    #[schemars(with = "Option<Vec<HostName>>")]
    pub spread: Option<Vec<Text>>,
    /// With `spread`: failovers per agent, drawn from the pool.
    #[schemars(with = "Option<u32>")]
    pub failover_count: Option<Spanned<u32>>,
}

/// `managementStore:`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreDoc {
    /// The pool where the store should be active.
    #[schemars(with = "HostName")]
    pub pool: Text,
    /// Disaster-recovery failover, opt-in.
    pub disaster_recovery: Option<DrDoc>,
    /// A planned failover to `pool` also restores the existing store
    /// database (`-Restore`); default false. Not with disaster recovery
    /// allowed: the cmdlet's disaster-recovery parameter set has no
    /// `-Restore`.
    #[schemars(with = "Option<bool>")]
    pub restore: Option<Spanned<bool>>,
}

/// `managementStore.disasterRecovery:`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrDoc {
    /// Fail over while the active pool is down (needs `backupSqlServer`).
    #[schemars(with = "Option<bool>")]
    pub allowed: Option<Spanned<bool>>,
    /// `-BackupSqlServerFqdn`.
    #[schemars(with = "Option<HostName>")]
    pub backup_sql_server: Option<Text>,
    /// `-BackupSqlInstanceName`.
    pub backup_sql_instance: Option<String>,
    /// `-BackupMirrorSqlServerFqdn`.
    #[schemars(with = "Option<HostName>")]
    pub backup_mirror_sql_server: Option<Text>,
    /// `-BackupMirrorSqlInstanceName`.
    pub backup_mirror_sql_instance: Option<String>,
}

/// `policy:`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDoc {
    /// Members in a bridge state at once; at least 1.
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub max_in_flight: Option<Spanned<i64>>,
    /// How long to wait for a member to reach its new primary.
    #[schemars(with = "Option<Duration>")]
    pub ack_timeout: Option<Text>,
    /// How long a Central Management Store operation may take (the
    /// failover call, replication, the store becoming active); default 30m.
    #[schemars(with = "Option<Duration>")]
    pub store_timeout: Option<Text>,
    /// Retire observed gateways absent from the topology.
    pub retire_gateways: Option<bool>,
    /// Agents per parent.
    pub capacity: Option<CapacityDoc>,
    /// Observe and report, but apply nothing.
    pub suspend: Option<bool>,
}

/// `policy.capacity:`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityDoc {
    /// Agents per gateway.
    pub gateway: Option<u32>,
    /// Agents plus gateways per management server.
    pub management_server: Option<u32>,
}

/// `kind: Observed`: what a target reports.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "handover Observed",
    description = "Observed SCOM / Skype for Business state (handover/v1)."
)]
pub struct ObservedDoc {
    /// Always `handover/v1`.
    #[schemars(with = "ApiVersion")]
    pub api_version: Text,
    /// Always `Observed`.
    #[schemars(with = "ObservedKind")]
    pub kind: Text,
    /// Management servers.
    #[serde(default)]
    pub management_servers: Vec<ObservedServerDoc>,
    /// Gateways.
    #[serde(default)]
    pub gateways: Vec<ObservedMemberDoc>,
    /// Agents.
    #[serde(default)]
    pub agents: Vec<ObservedMemberDoc>,
    /// The Central Management Store.
    pub management_store: Option<ObservedStoreDoc>,
}

/// An observed management server or pool.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedServerDoc {
    /// Its host name.
    #[schemars(with = "HostName")]
    pub name: Text,
    /// Running and accepting members (default true).
    pub up: Option<bool>,
}

/// An observed store pool.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedPoolDoc {
    /// Its host name.
    #[schemars(with = "HostName")]
    pub name: Text,
    /// Running (default true).
    pub up: Option<bool>,
    /// The store also reports itself active here although `activePool`
    /// names another pool (default false).
    #[serde(default)]
    pub active: bool,
}

/// An observed gateway or agent.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedMemberDoc {
    /// Its host name.
    #[schemars(with = "HostName")]
    pub name: Text,
    /// Its configured primary.
    #[schemars(with = "HostName")]
    pub primary: Text,
    /// Its configured failovers.
    #[serde(default)]
    #[schemars(with = "Vec<HostName>")]
    pub failover: Vec<Text>,
    /// The parent it talks to now; null when disconnected.
    #[schemars(with = "Option<HostName>")]
    pub connected: Option<Text>,
    /// Gateways: running (default true).
    pub up: Option<bool>,
    /// Gateways: approved, certificate imported, configured (default true).
    pub ready: Option<bool>,
}

/// The observed Central Management Store.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObservedStoreDoc {
    /// Where it is active; null when unavailable.
    #[schemars(with = "Option<HostName>")]
    pub active_pool: Option<Text>,
    /// Pools that can host it.
    #[serde(default)]
    pub pools: Vec<ObservedPoolDoc>,
    /// Every replica up to date.
    #[serde(default)]
    pub replication_complete: bool,
}

/// The JSON Schema of a `kind: Topology` file (draft 2020-12).
pub fn topology_schema() -> serde_json::Value {
    schemars::schema_for!(TopologyDoc).to_value()
}

/// The JSON Schema of a `kind: Observed` file (draft 2020-12).
pub fn observed_schema() -> serde_json::Value {
    schemars::schema_for!(ObservedDoc).to_value()
}
