//! The document shapes as written in files (docs/spec.md section 2), with source
//! spans: what serde reads before names are checked and the model is built.
//!
//! Owns the file syntax only: field names, nesting, which fields exist.
//! Every mapping is read by [`doc_struct!`]'s hand-written visitor rather
//! than serde's derive, for two reasons: a key that is none of the fields
//! is *collected* (with its position, in the struct's `unknown`) instead of
//! stopping the parse, so the loader reports every unknown field of a file
//! in one run; and a list field written empty (`agents:`, which YAML reads
//! as null) is an empty list. Keys are read without their place (a place
//! costs serde-saphyr a dozen calls per key); a parse that met an unknown
//! key is repeated with places ([`with_key_places`]), which only files with
//! an error pay. These types also generate the JSON Schema
//! (`handover schema`; `deny_unknown_fields` there still says that no other
//! field is allowed). Must not check relations between names; that is
//! `crate::validate`'s job.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// A string with the place it was written.
pub type Text = Spanned<String>;

thread_local! {
    /// Whether keys are read with their place (see [`with_key_places`]).
    static KEY_PLACES: Cell<bool> = const { Cell::new(false) };
    /// Whether a parse on this thread met an unknown key since the last
    /// [`take_unknown_met`].
    static UNKNOWN_MET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse` with every key of the document types read with its place,
/// so that unknown keys have one (without, they are at line 0).
pub fn with_key_places<T>(parse: impl FnOnce() -> T) -> T {
    /// Restores the previous mode, also if `parse` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            KEY_PLACES.set(self.0);
        }
    }
    let _restore = Restore(KEY_PLACES.replace(true));
    parse()
}

/// Whether a parse on this thread met an unknown key since the last call
/// (and forgets it).
pub fn take_unknown_met() -> bool {
    UNKNOWN_MET.replace(false)
}

/// A key written in a mapping that has no such field.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownKey {
    /// The key as written, with its place.
    pub key: Text,
    /// The fields the mapping does have, as written in files.
    pub allowed: &'static [&'static str],
    /// The mapping, in words (`a gateway or agent`, `policy`).
    pub within: &'static str,
}

/// The fields of one mapping type, for [`Key`].
pub trait Fields {
    /// The keys allowed, as written in files.
    const FIELDS: &'static [&'static str];
    /// The mapping, in words, for messages.
    const WITHIN: &'static str;
}

/// A key of a mapping of type `F`: one of its fields (no allocation), or
/// any other key, kept for the message.
enum Key<F> {
    /// One of `F::FIELDS`.
    Known(&'static str, PhantomData<F>),
    /// Anything else, as written.
    Unknown(String),
}

impl<'de, F: Fields> Deserialize<'de> for Key<F> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor(PhantomData))
    }
}

/// Reads a key of `F` (see [`Key`]).
struct KeyVisitor<F>(PhantomData<F>);

impl<F: Fields> KeyVisitor<F> {
    fn key(v: &str) -> Key<F> {
        match F::FIELDS.iter().find(|f| **f == v) {
            Some(f) => Key::Known(f, PhantomData),
            None => Key::Unknown(v.to_owned()),
        }
    }
}

impl<'de, F: Fields> Visitor<'de> for KeyVisitor<F> {
    type Value = Key<F>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a field name ({})", F::FIELDS.join(", "))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<F>, E> {
        Ok(Self::key(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key<F>, E> {
        Ok(Key::Unknown(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key<F>, E> {
        Ok(Key::Unknown(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key<F>, E> {
        Ok(Key::Unknown(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key<F>, E> {
        Ok(Key::Unknown(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key<F>, E> {
        Ok(Key::Unknown("null".to_owned()))
    }
}

/// Reads the value of an unknown key, keeping the key for a message. A
/// value that cannot even be skipped (past a nesting or alias budget) is
/// reported as the unknown field it belongs to, at the key, as serde's
/// derive would.
fn skip_unknown<'de, A: MapAccess<'de>, F: Fields>(
    map: &mut A,
    key: Spanned<Key<F>>,
    unknown: &mut Vec<UnknownKey>,
) -> Result<(), A::Error> {
    let name = match key.value {
        Key::Unknown(name) => name,
        Key::Known(name, _) => name.to_owned(),
    };
    UNKNOWN_MET.set(true);
    if map.next_value::<IgnoredAny>().is_err() {
        return Err(de::Error::unknown_field(&name, F::FIELDS));
    }
    unknown.push(UnknownKey {
        key: Spanned::new(name, key.referenced, key.defined),
        allowed: F::FIELDS,
        within: F::WITHIN,
    });
    Ok(())
}

/// Reads one field's value by how the field treats absence and null:
/// `req` and `opt` and `default` as serde would; `list` takes null (`key:`
/// with nothing after it) as an empty list; `optlist` and `spanlist` as
/// `list`, but remember that the key was written.
macro_rules! read_field {
    (req, $map:ident) => {
        $map.next_value()?
    };
    (opt, $map:ident) => {
        $map.next_value()?
    };
    (default, $map:ident) => {
        $map.next_value()?
    };
    (list, $map:ident) => {
        $map.next_value::<Option<_>>()?.unwrap_or_default()
    };
    (optlist, $map:ident) => {
        Some($map.next_value::<Option<_>>()?.unwrap_or_default())
    };
    (spanlist, $map:ident) => {{
        let s: Spanned<Option<_>> = $map.next_value()?;
        Some(Spanned::new(
            s.value.unwrap_or_default(),
            s.referenced,
            s.defined,
        ))
    }};
}

/// A field's value once the mapping has been read: a missing `req` field
/// is an error; any other is its default (`None`, empty, false).
macro_rules! finish_field {
    (req, $slot:ident, $key:literal) => {
        $slot.ok_or_else(|| de::Error::missing_field($key))?
    };
    ($how:ident, $slot:ident, $key:literal) => {
        $slot.unwrap_or_default()
    };
}

/// Declares a document mapping type: the struct (with its schema
/// attributes), its [`Fields`], and a [`Deserialize`] that collects unknown
/// keys into `unknown`. Each field is `pub name: Type => "key" how`, where
/// `how` is one of `read_field!`'s kinds.
macro_rules! doc_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($within:literal) {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty => $key:literal $how:ident,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Keys written here that are none of the fields above.
            #[serde(skip)]
            pub unknown: Vec<UnknownKey>,
        }

        impl Fields for $name {
            const FIELDS: &'static [&'static str] = &[$($key),*];
            const WITHIN: &'static str = $within;
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                /// Reads the mapping.
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("a mapping (", $within, ")"))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $(let mut $field: Option<$ty> = None;)*
                        let mut unknown = Vec::new();
                        let places = KEY_PLACES.get();
                        loop {
                            let key = if places {
                                match map.next_key::<Spanned<Key<$name>>>()? {
                                    Some(key) => key,
                                    None => break,
                                }
                            } else {
                                match map.next_key::<Key<$name>>()? {
                                    Some(key) => Spanned::new(key, Location::UNKNOWN, Location::UNKNOWN),
                                    None => break,
                                }
                            };
                            match key.value {
                                $(Key::Known($key, _) => {
                                    if $field.is_some() {
                                        return Err(de::Error::duplicate_field($key));
                                    }
                                    $field = Some(read_field!($how, map));
                                })*
                                _ => skip_unknown(&mut map, key, &mut unknown)?,
                            }
                        }
                        Ok($name {
                            $($field: finish_field!($how, $field, $key),)*
                            unknown,
                        })
                    }
                }
                d.deserialize_struct(stringify!($name), <$name as Fields>::FIELDS, V)
            }
        }
    };
}

/// Just enough of any document to tell which kind it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderDoc {
    /// `apiVersion:`, when present.
    pub api_version: Option<Text>,
    /// `kind:`, when present.
    pub kind: Option<Text>,
}

doc_struct! {
    /// `kind: Topology`: a desired topology (or one file of a directory of them).
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[schemars(
        title = "handover Topology",
        description = "A desired SCOM / Skype for Business topology (handover/v1)."
    )]
    pub struct TopologyDoc ("the Topology document") {
        /// Always `handover/v1`.
        #[schemars(with = "ApiVersion")]
        pub api_version: Text => "apiVersion" req,
        /// Always `Topology`.
        #[schemars(with = "TopologyKind")]
        pub kind: Text => "kind" req,
        /// `metadata.name`: the management group.
        pub metadata: Option<MetadataDoc> => "metadata" opt,
        /// Management servers that may be parents.
        #[serde(default)]
        pub management_servers: Vec<ServerDoc> => "managementServers" list,
        /// Gateways with their desired parents.
        #[serde(default)]
        pub gateways: Vec<MemberDoc> => "gateways" list,
        /// Agents listed by name; they win over rules.
        #[serde(default)]
        pub agents: Vec<MemberDoc> => "agents" list,
        /// Fleet rules; the first match wins.
        #[serde(default)]
        pub agent_rules: Vec<RuleDoc> => "agentRules" list,
        /// Where the Central Management Store should be active.
        pub management_store: Option<StoreDoc> => "managementStore" opt,
        /// How the migration may proceed.
        pub policy: Option<PolicyDoc> => "policy" opt,
    }
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

doc_struct! {
    /// `metadata:`.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct MetadataDoc ("metadata") {
        /// The management group.
        #[schemars(with = "Option<String>")]
        pub name: Option<Text> => "name" opt,
    }
}

doc_struct! {
    /// A management server (desired) .
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ServerDoc ("a management server") {
        /// Its host name.
        #[schemars(with = "HostName")]
        pub name: Text => "name" req,
    }
}

doc_struct! {
    /// A gateway or agent with its desired parents.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct MemberDoc ("a gateway or agent") {
        /// Its host name.
        #[schemars(with = "HostName")]
        pub name: Text => "name" req,
        /// The management server or gateway it reports to.
        #[schemars(with = "HostName")]
        pub primary: Text => "primary" req,
        /// Ordered failover parents; may be empty or absent.
        #[serde(default)]
        #[schemars(with = "Vec<HostName>")]
        pub failover: Vec<Text> => "failover" list,
    }
}

doc_struct! {
    /// One entry of `agentRules`: `match` plus either `primary` or `spread`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RuleDoc ("an agentRules entry") {
        /// Glob over agent names, case-insensitive (`*`, `?`, `[...]`).
        #[serde(rename = "match")]
        #[schemars(with = "String")]
        pub pattern: Text => "match" req,
        /// Fixed primary for every matching agent.
        #[schemars(with = "Option<HostName>")]
        pub primary: Option<Text> => "primary" opt,
        /// Fixed failovers (with `primary`).
        #[schemars(with = "Option<Vec<HostName>>")]
        pub failover: Option<Vec<Text>> => "failover" optlist,
        /// A pool of parents to balance matching agents across.
        #[schemars(with = "Option<Vec<HostName>>")]
        pub spread: Option<Spanned<Vec<Text>>> => "spread" spanlist,
        /// With `spread`: failovers per agent, drawn from the pool.
        #[schemars(with = "Option<u32>")]
        pub failover_count: Option<Spanned<u32>> => "failoverCount" opt,
    }
}

doc_struct! {
    /// `managementStore:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StoreDoc ("managementStore") {
        /// The pool where the store should be active.
        #[schemars(with = "HostName")]
        pub pool: Text => "pool" req,
        /// Disaster-recovery failover, opt-in.
        pub disaster_recovery: Option<DrDoc> => "disasterRecovery" opt,
        /// A planned failover to `pool` also restores the existing store
        /// database (`-Restore`); default false. Not with disaster recovery
        /// allowed: the cmdlet's disaster-recovery parameter set has no
        /// `-Restore`.
        #[schemars(with = "Option<bool>")]
        pub restore: Option<Spanned<bool>> => "restore" opt,
    }
}

doc_struct! {
    /// `managementStore.disasterRecovery:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct DrDoc ("managementStore.disasterRecovery") {
        /// Fail over while the active pool is down (needs `backupSqlServer`).
        #[schemars(with = "Option<bool>")]
        pub allowed: Option<Spanned<bool>> => "allowed" opt,
        /// `-BackupSqlServerFqdn`.
        #[schemars(with = "Option<HostName>")]
        pub backup_sql_server: Option<Text> => "backupSqlServer" opt,
        /// `-BackupSqlInstanceName`.
        pub backup_sql_instance: Option<String> => "backupSqlInstance" opt,
        /// `-BackupMirrorSqlServerFqdn`.
        #[schemars(with = "Option<HostName>")]
        pub backup_mirror_sql_server: Option<Text> => "backupMirrorSqlServer" opt,
        /// `-BackupMirrorSqlInstanceName`.
        pub backup_mirror_sql_instance: Option<String> => "backupMirrorSqlInstance" opt,
    }
}

doc_struct! {
    /// `policy:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PolicyDoc ("policy") {
        /// Members in a bridge state at once; at least 1.
        #[schemars(with = "Option<u32>", range(min = 1))]
        pub max_in_flight: Option<Spanned<i64>> => "maxInFlight" opt,
        /// How long to wait for a member to reach its new primary.
        #[schemars(with = "Option<Duration>")]
        pub ack_timeout: Option<Text> => "ackTimeout" opt,
        /// How long a Central Management Store operation may take (the
        /// failover call, replication, the store becoming active); default 30m.
        #[schemars(with = "Option<Duration>")]
        pub store_timeout: Option<Text> => "storeTimeout" opt,
        /// Retire observed gateways absent from the topology.
        pub retire_gateways: Option<bool> => "retireGateways" opt,
        /// Agents per parent.
        pub capacity: Option<CapacityDoc> => "capacity" opt,
        /// Observe and report, but apply nothing.
        pub suspend: Option<bool> => "suspend" opt,
        /// How often members in flight are observed.
        pub poll: Option<PollDoc> => "poll" opt,
        /// Progressive steps with analysis (docs/rollouts.md).
        #[schemars(with = "Option<RolloutDoc>")]
        pub rollout: Option<Spanned<RolloutDoc>> => "rollout" opt,
        /// Webhooks `reconcile` tells about transitions
        /// (docs/notifications.md).
        #[serde(default)]
        pub notifications: Vec<ReceiverDoc> => "notifications" list,
        /// Change windows: when changes may start (docs/gates.md).
        #[serde(default)]
        pub windows: Vec<WindowDoc> => "windows" list,
        /// Approval gate: how large a plan may be before it waits for
        /// `handover approve` (docs/gates.md).
        pub approval: Option<ApprovalDoc> => "approval" opt,
        /// What the forecast assumes each unit of work costs.
        pub cost: Option<CostDoc> => "cost" opt,
    }
}

doc_struct! {
    /// `policy.cost:` (docs/spec.md, "Forecast").
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CostDoc ("policy.cost") {
        /// Starting the provider program once; default 5s.
        #[schemars(with = "Option<String>")]
        pub startup: Option<Text> => "startup" opt,
        /// One apply request's own round trip; default 1s.
        #[schemars(with = "Option<String>")]
        pub per_call: Option<Text> => "perCall" opt,
        /// One operation (a member's set_parents) in a request; default 1s.
        #[schemars(with = "Option<String>")]
        pub per_operation: Option<Text> => "perOperation" opt,
        /// One observation (a poll); default 30s.
        #[schemars(with = "Option<String>")]
        pub observe: Option<Text> => "observe" opt,
        /// From the bridge write until the member shows its new parents; default 5m.
        #[schemars(with = "Option<String>")]
        pub propagation: Option<Text> => "propagation" opt,
        /// Operations per apply request; default 50.
        #[schemars(with = "Option<u32>", range(min = 1))]
        pub batch: Option<Spanned<i64>> => "batch" opt,
        /// Requests at once (sessions); default 1.
        #[schemars(with = "Option<u32>", range(min = 1))]
        pub parallel: Option<Spanned<i64>> => "parallel" opt,
        /// One long-lived session (protocol 2); default true.
        pub sessions: Option<bool> => "sessions" opt,
    }
}

doc_struct! {
    /// One entry of `policy.windows:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct WindowDoc ("a change window") {
        /// `allow` (changes may start inside it) or `deny` (none starts,
        /// even inside an allow window).
        #[schemars(with = "WindowKindName")]
        pub kind: Text => "kind" req,
        /// Five-field cron schedule of the window's start, such as
        /// `0 22 * * 1-5`.
        #[schemars(with = "String")]
        pub schedule: Text => "schedule" req,
        /// How long it stays open after each start, such as `4h`.
        #[schemars(with = "Duration")]
        pub duration: Text => "duration" req,
        /// IANA time zone the schedule is read in, such as
        /// `Europe/Berlin`; default `UTC`.
        #[schemars(with = "Option<String>")]
        pub time_zone: Option<Text> => "timeZone" opt,
    }
}

/// `allow` or `deny`.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum WindowKindName {
    /// Changes may start inside the window.
    #[serde(rename = "allow")]
    Allow,
    /// No change starts inside the window.
    #[serde(rename = "deny")]
    Deny,
}

doc_struct! {
    /// `policy.approval:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ApprovalDoc ("policy.approval") {
        /// A plan that moves more members than this waits for approval.
        #[schemars(with = "Option<u64>")]
        pub above_members: Option<Spanned<i64>> => "aboveMembers" opt,
        /// A plan that moves more than this percentage (0-100) of the
        /// managed members waits for approval.
        #[schemars(with = "Option<u8>", range(max = 100))]
        pub above_percent: Option<Spanned<i64>> => "abovePercent" opt,
    }
}

doc_struct! {
    /// One entry of `policy.notifications`: a webhook. Give `url` or
    /// `urlEnv`, not both.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ReceiverDoc ("a policy.notifications entry") {
        /// Its name, unique in the list: what logs and metrics show.
        #[schemars(with = "ReceiverName")]
        pub name: Text => "name" req,
        /// Where to POST (http:// or https://), when the URL is not secret.
        #[schemars(with = "Option<WebhookUrl>")]
        pub url: Option<Text> => "url" opt,
        /// The environment variable holding the URL (Teams and Slack
        /// webhook URLs are secrets).
        #[schemars(with = "Option<EnvName>")]
        pub url_env: Option<Text> => "urlEnv" opt,
        /// `json` (default), `teams` or `slack`.
        #[schemars(with = "Option<NotifyFormat>")]
        pub format: Option<Text> => "format" opt,
        /// The events to send; all of them when absent.
        #[schemars(with = "Option<Vec<NotifyEvent>>")]
        pub on: Option<Spanned<Vec<Text>>> => "on" spanlist,
        /// The environment variable holding a token sent as
        /// `Authorization: Bearer <token>`.
        #[schemars(with = "Option<EnvName>")]
        pub secret_env: Option<Text> => "secretEnv" opt,
        /// Headers whose values come from the environment.
        #[serde(default)]
        pub headers: Vec<EnvHeaderDoc> => "headers" list,
    }
}

doc_struct! {
    /// A header of a `policy.notifications` entry, its value from the
    /// environment.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct EnvHeaderDoc ("a notifications header") {
        /// The header's name (`X-Api-Key`).
        #[schemars(with = "String")]
        pub name: Text => "name" req,
        /// The environment variable holding its value.
        #[schemars(with = "EnvName")]
        pub env: Text => "env" req,
    }
}

/// A receiver's name: letters, digits, `.`, `_` and `-`.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ReceiverName(#[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))] String);

/// An http:// or https:// URL.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct WebhookUrl(
    #[schemars(regex(pattern = r"^https?://[^\s/?#]+"))]
    String,
);

/// The name of an environment variable.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct EnvName(#[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))] String);

#[derive(JsonSchema)]
#[allow(dead_code)]
enum NotifyFormat {
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "teams")]
    Teams,
    #[serde(rename = "slack")]
    Slack,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
enum NotifyEvent {
    Progressing,
    Synced,
    Degraded,
    Blocked,
    PendingAck,
    Stranded,
    AwaitingApproval,
    AnalysisFailed,
    RolledBack,
    WindowOpened,
    WindowClosed,
}

doc_struct! {
    /// `policy.poll:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PollDoc ("policy.poll") {
        /// The first interval between two polls, and the interval again
        /// after a poll that saw a change; default 15s.
        #[schemars(with = "Option<Duration>")]
        pub interval: Option<Text> => "interval" opt,
        /// The longest interval: while nothing changes the interval
        /// doubles up to this; default 30s.
        #[schemars(with = "Option<Duration>")]
        pub max: Option<Text> => "max" opt,
    }
}

doc_struct! {
    /// `policy.rollout:` (docs/rollouts.md).
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RolloutDoc ("policy.rollout") {
        /// The steps, in order: `{members: N}` or `{percent: P}` (cumulative
        /// over the members the revision moves) with an optional `soak`, or
        /// `{pause: true}`.
        #[schemars(with = "Vec<StepDoc>")]
        pub steps: Vec<Spanned<StepDoc>> => "steps" list,
        /// The thresholds judged during each soak.
        pub analysis: Option<AnalysisDoc> => "analysis" opt,
        /// `pause` (default) or `rollback`.
        #[schemars(with = "Option<OnFailureWord>")]
        pub on_failure: Option<Text> => "onFailure" opt,
    }
}

doc_struct! {
    /// One step of `policy.rollout.steps`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StepDoc ("a rollout step") {
        /// Members of the revision started in all once this step is done.
        #[schemars(with = "Option<u64>", range(min = 1))]
        pub members: Option<Spanned<i64>> => "members" opt,
        /// Share of the revision's members started in all, 1 to 100.
        #[schemars(with = "Option<u32>", range(min = 1, max = 100))]
        pub percent: Option<Spanned<i64>> => "percent" opt,
        /// How long to hold and analyse once the step's members have moved.
        #[schemars(with = "Option<Duration>")]
        pub soak: Option<Text> => "soak" opt,
        /// `true`: wait for `handover resume`.
        #[schemars(with = "Option<bool>")]
        pub pause: Option<Spanned<bool>> => "pause" opt,
    }
}

doc_struct! {
    /// `policy.rollout.analysis:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct AnalysisDoc ("policy.rollout.analysis") {
        /// Moved members allowed off their new primary; default 0.
        #[schemars(with = "Option<u64>")]
        pub max_failures: Option<Spanned<i64>> => "maxFailures" opt,
        /// Moved members allowed off their new primary, in percent of the
        /// step's moved members.
        #[schemars(with = "Option<u32>", range(max = 100))]
        pub max_failure_percent: Option<Spanned<i64>> => "maxFailurePercent" opt,
        /// A new parent reporting this health state or worse fails the
        /// analysis: `warning` or `critical`.
        #[schemars(with = "Option<HealthBound>")]
        pub fail_on_health: Option<Text> => "failOnHealth" opt,
        /// A new parent reporting a larger send queue fails the analysis.
        #[schemars(with = "Option<u64>")]
        pub max_send_queue_size: Option<Spanned<i64>> => "maxSendQueueSize" opt,
    }
}

/// The health state at which a rollout's analysis fails.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
enum HealthBound {
    Warning,
    Critical,
}

/// What a failed rollout analysis does.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
enum OnFailureWord {
    Pause,
    Rollback,
}

doc_struct! {
    /// `policy.capacity:`.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CapacityDoc ("policy.capacity") {
        /// Agents per gateway.
        pub gateway: Option<u32> => "gateway" opt,
        /// Agents plus gateways per management server.
        pub management_server: Option<u32> => "managementServer" opt,
    }
}

doc_struct! {
    /// `kind: Observed`: what a target reports.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[schemars(
        title = "handover Observed",
        description = "Observed SCOM / Skype for Business state (handover/v1)."
    )]
    pub struct ObservedDoc ("the Observed document") {
        /// Always `handover/v1`.
        #[schemars(with = "ApiVersion")]
        pub api_version: Text => "apiVersion" req,
        /// Always `Observed`.
        #[schemars(with = "ObservedKind")]
        pub kind: Text => "kind" req,
        /// Management servers.
        #[serde(default)]
        pub management_servers: Vec<ObservedServerDoc> => "managementServers" list,
        /// Gateways.
        #[serde(default)]
        pub gateways: Vec<ObservedMemberDoc> => "gateways" list,
        /// Agents.
        #[serde(default)]
        pub agents: Vec<ObservedMemberDoc> => "agents" list,
        /// The Central Management Store.
        pub management_store: Option<ObservedStoreDoc> => "managementStore" opt,
    }
}

doc_struct! {
    /// An observed management server or pool.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ObservedServerDoc ("an observed management server") {
        /// Its host name.
        #[schemars(with = "HostName")]
        pub name: Text => "name" req,
        /// Running and accepting members (default true).
        pub up: Option<bool> => "up" opt,
        /// Its health, when the provider reports it.
        pub health: Option<HealthDoc> => "health" opt,
    }
}

doc_struct! {
    /// An observed store pool.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ObservedPoolDoc ("a managementStore pool") {
        /// Its host name.
        #[schemars(with = "HostName")]
        pub name: Text => "name" req,
        /// Running (default true).
        pub up: Option<bool> => "up" opt,
        /// The store also reports itself active here although `activePool`
        /// names another pool (default false).
        #[serde(default)]
        pub active: bool => "active" default,
    }
}

doc_struct! {
    /// An observed gateway or agent.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ObservedMemberDoc ("an observed gateway or agent") {
        /// Its host name.
        #[schemars(with = "HostName")]
        pub name: Text => "name" req,
        /// Its configured primary.
        #[schemars(with = "HostName")]
        pub primary: Text => "primary" req,
        /// Its configured failovers.
        #[serde(default)]
        #[schemars(with = "Vec<HostName>")]
        pub failover: Vec<Text> => "failover" list,
        /// The parent it talks to now; null when disconnected.
        #[schemars(with = "Option<HostName>")]
        pub connected: Option<Text> => "connected" opt,
        /// Gateways: running (default true).
        pub up: Option<bool> => "up" opt,
        /// Gateways: approved, certificate imported, configured (default true).
        pub ready: Option<bool> => "ready" opt,
        /// Facts handover judges `connected` and `ready` from.
        pub evidence: Option<EvidenceDoc> => "evidence" opt,
        /// Gateways: their health, when the provider reports it.
        pub health: Option<HealthDoc> => "health" opt,
    }
}

/// A Health Service's health state, in the console's words.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
enum HealthWord {
    Healthy,
    Warning,
    Critical,
    Unknown,
}

doc_struct! {
    /// The health of a management server or gateway (docs/provider-protocol.md section 4).
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct HealthDoc ("health") {
        /// The health state of its Health Service.
        #[schemars(with = "Option<HealthWord>")]
        pub state: Option<Text> => "state" opt,
        /// Its `Health Service Management Groups\Send Queue Size`.
        #[schemars(with = "Option<u64>")]
        pub send_queue_size: Option<Spanned<i64>> => "sendQueueSize" opt,
    }
}

/// A UTC time, RFC 3339 (`2026-12-07T20:31:05Z`).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Utc(
    #[schemars(regex(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"
    ))]
    String,
);

doc_struct! {
    /// Facts about a member (docs/provider-protocol.md section 4).
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct EvidenceDoc ("evidence") {
        /// The provider's clock when it read these facts.
        #[schemars(with = "Utc")]
        pub observed_at: Text => "observedAt" req,
        /// The parents the member has learned.
        pub learned: Option<LearnedDoc> => "learned" opt,
        /// Its last heartbeat.
        pub heartbeat: Option<HeartbeatDoc> => "heartbeat" opt,
        /// When it last applied a new configuration (event 1210).
        #[schemars(with = "Option<Utc>")]
        pub config_applied_at: Option<Text> => "configAppliedAt" opt,
    }
}

doc_struct! {
    /// `evidence.learned`: the member's own parent list.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct LearnedDoc ("evidence.learned") {
        /// Learned primary first, then failovers.
        #[schemars(with = "Vec<HostName>")]
        pub parents: Vec<Text> => "parents" list,
        /// When the member read them.
        #[schemars(with = "Utc")]
        pub at: Text => "at" req,
    }
}

doc_struct! {
    /// `evidence.heartbeat`: the member's last heartbeat.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct HeartbeatDoc ("evidence.heartbeat") {
        /// When it arrived.
        #[schemars(with = "Utc")]
        pub at: Text => "at" req,
        /// The server it came through.
        #[schemars(with = "Option<HostName>")]
        pub via: Option<Text> => "via" opt,
    }
}

doc_struct! {
    /// The observed Central Management Store.
    #[derive(JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ObservedStoreDoc ("managementStore") {
        /// Where it is active; null when unavailable.
        #[schemars(with = "Option<HostName>")]
        pub active_pool: Option<Text> => "activePool" opt,
        /// Pools that can host it.
        #[serde(default)]
        pub pools: Vec<ObservedPoolDoc> => "pools" list,
        /// Every replica up to date.
        #[serde(default)]
        pub replication_complete: bool => "replicationComplete" default,
    }
}

/// The JSON Schema of a `kind: Topology` file (draft 2020-12).
pub fn topology_schema() -> serde_json::Value {
    schemars::schema_for!(TopologyDoc).to_value()
}

/// The JSON Schema of a `kind: Observed` file (draft 2020-12).
pub fn observed_schema() -> serde_json::Value {
    schemars::schema_for!(ObservedDoc).to_value()
}
