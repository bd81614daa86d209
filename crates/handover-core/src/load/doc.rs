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

use crate::model::notify::{Event as NotifyEvent, Format as NotifyFormat};
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

/// Declares a document mapping type: the struct (deriving its schema, with
/// camelCase keys and no other field allowed), its [`Fields`], and a
/// [`Deserialize`] that collects unknown keys into `unknown`. Each field is
/// `pub name: Type [schema] => "key" how`, where `how` is one of
/// `read_field!`'s kinds and the optional `[schema]` is the field's
/// `#[schemars(...)]` (`[with = "HostName"]`: the type the schema shows).
macro_rules! doc_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($within:literal) {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty $([$($schema:tt)*])? => $key:literal $how:ident,
            )*
        }
    ) => {
        #[derive(JsonSchema)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                $(#[schemars($($schema)*)])?
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
    #[schemars(
        title = "handover Topology",
        description = "A desired SCOM / Skype for Business topology (handover/v1)."
    )]
    pub struct TopologyDoc ("the Topology document") {
        /// Always `handover/v1`.
        pub api_version: Text [with = "ApiVersion"] => "apiVersion" req,
        /// Always `Topology`.
        pub kind: Text [with = "TopologyKind"] => "kind" req,
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
    pub struct MetadataDoc ("metadata") {
        /// The management group.
        pub name: Option<Text> [with = "Option<String>"] => "name" opt,
    }
}

doc_struct! {
    /// A management server (desired) .
    pub struct ServerDoc ("a management server") {
        /// Its host name.
        pub name: Text [with = "HostName"] => "name" req,
    }
}

doc_struct! {
    /// A gateway or agent with its desired parents.
    pub struct MemberDoc ("a gateway or agent") {
        /// Its host name.
        pub name: Text [with = "HostName"] => "name" req,
        /// The management server or gateway it reports to.
        pub primary: Text [with = "HostName"] => "primary" req,
        /// Ordered failover parents; may be empty or absent.
        #[serde(default)]
        pub failover: Vec<Text> [with = "Vec<HostName>"] => "failover" list,
    }
}

doc_struct! {
    /// One entry of `agentRules`: `match` plus either `primary` or `spread`.
    pub struct RuleDoc ("an agentRules entry") {
        /// Glob over agent names, case-insensitive (`*`, `?`, `[...]`).
        #[serde(rename = "match")]
        pub pattern: Text [with = "String"] => "match" req,
        /// Fixed primary for every matching agent.
        pub primary: Option<Text> [with = "Option<HostName>"] => "primary" opt,
        /// Fixed failovers (with `primary`).
        pub failover: Option<Vec<Text>> [with = "Option<Vec<HostName>>"] => "failover" optlist,
        /// A pool of parents to balance matching agents across.
        pub spread: Option<Spanned<Vec<Text>>> [with = "Option<Vec<HostName>>"]
            => "spread" spanlist,
        /// With `spread`: failovers per agent, drawn from the pool.
        pub failover_count: Option<Spanned<u32>> [with = "Option<u32>"] => "failoverCount" opt,
    }
}

doc_struct! {
    /// `managementStore:`.
    pub struct StoreDoc ("managementStore") {
        /// The pool where the store should be active.
        pub pool: Text [with = "HostName"] => "pool" req,
        /// Disaster-recovery failover, opt-in.
        pub disaster_recovery: Option<DrDoc> => "disasterRecovery" opt,
        /// A planned failover to `pool` also restores the existing store
        /// database (`-Restore`); default false. Not with disaster recovery
        /// allowed: the cmdlet's disaster-recovery parameter set has no
        /// `-Restore`.
        pub restore: Option<Spanned<bool>> [with = "Option<bool>"] => "restore" opt,
    }
}

doc_struct! {
    /// `managementStore.disasterRecovery:`.
    pub struct DrDoc ("managementStore.disasterRecovery") {
        /// Fail over while the active pool is down (needs `backupSqlServer`).
        pub allowed: Option<Spanned<bool>> [with = "Option<bool>"] => "allowed" opt,
        /// `-BackupSqlServerFqdn`.
        pub backup_sql_server: Option<Text> [with = "Option<HostName>"] => "backupSqlServer" opt,
        /// `-BackupSqlInstanceName`.
        pub backup_sql_instance: Option<String> => "backupSqlInstance" opt,
        /// `-BackupMirrorSqlServerFqdn`.
        pub backup_mirror_sql_server: Option<Text> [with = "Option<HostName>"]
            => "backupMirrorSqlServer" opt,
        /// `-BackupMirrorSqlInstanceName`.
        pub backup_mirror_sql_instance: Option<String> => "backupMirrorSqlInstance" opt,
    }
}

doc_struct! {
    /// `policy:`.
    pub struct PolicyDoc ("policy") {
        /// Members in a bridge state at once; at least 1.
        pub max_in_flight: Option<Spanned<i64>> [with = "Option<u32>", range(min = 1)]
            => "maxInFlight" opt,
        /// How long to wait for a member to reach its new primary.
        pub ack_timeout: Option<Text> [with = "Option<Duration>"] => "ackTimeout" opt,
        /// How long a Central Management Store operation may take (the
        /// failover call, replication, the store becoming active); default 30m.
        pub store_timeout: Option<Text> [with = "Option<Duration>"] => "storeTimeout" opt,
        /// Retire observed gateways absent from the topology.
        pub retire_gateways: Option<bool> => "retireGateways" opt,
        /// Agents per parent.
        pub capacity: Option<CapacityDoc> => "capacity" opt,
        /// Observe and report, but apply nothing.
        pub suspend: Option<bool> => "suspend" opt,
        /// How often members in flight are observed.
        pub poll: Option<PollDoc> => "poll" opt,
        /// Progressive steps with analysis (docs/rollouts.md).
        pub rollout: Option<Spanned<RolloutDoc>> [with = "Option<RolloutDoc>"] => "rollout" opt,
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
    pub struct CostDoc ("policy.cost") {
        /// Starting the provider program once; default 5s.
        pub startup: Option<Text> [with = "Option<String>"] => "startup" opt,
        /// One apply request's own round trip; default 1s.
        pub per_call: Option<Text> [with = "Option<String>"] => "perCall" opt,
        /// One operation (a member's set_parents) in a request; default 1s.
        pub per_operation: Option<Text> [with = "Option<String>"] => "perOperation" opt,
        /// One observation (a poll); default 30s.
        pub observe: Option<Text> [with = "Option<String>"] => "observe" opt,
        /// From the bridge write until the member shows its new parents; default 5m.
        pub propagation: Option<Text> [with = "Option<String>"] => "propagation" opt,
        /// Operations per apply request; default 50.
        pub batch: Option<Spanned<i64>> [with = "Option<u32>", range(min = 1)] => "batch" opt,
        /// Requests at once (sessions); default 1.
        pub parallel: Option<Spanned<i64>> [with = "Option<u32>", range(min = 1)] => "parallel" opt,
        /// One long-lived session (protocol 2); default true.
        pub sessions: Option<bool> => "sessions" opt,
    }
}

doc_struct! {
    /// One entry of `policy.windows:`.
    pub struct WindowDoc ("a change window") {
        /// `allow` (changes may start inside it) or `deny` (none starts,
        /// even inside an allow window).
        pub kind: Text [with = "WindowKindName"] => "kind" req,
        /// Five-field cron schedule of the window's start, such as
        /// `0 22 * * 1-5`.
        pub schedule: Text [with = "String"] => "schedule" req,
        /// How long it stays open after each start, such as `4h`.
        pub duration: Text [with = "Duration"] => "duration" req,
        /// IANA time zone the schedule is read in, such as
        /// `Europe/Berlin`; default `UTC`.
        pub time_zone: Option<Text> [with = "Option<String>"] => "timeZone" opt,
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
    pub struct ApprovalDoc ("policy.approval") {
        /// A plan that moves more members than this waits for approval.
        pub above_members: Option<Spanned<i64>> [with = "Option<u64>"] => "aboveMembers" opt,
        /// A plan that moves more than this percentage (0-100) of the
        /// managed members waits for approval.
        pub above_percent: Option<Spanned<i64>> [with = "Option<u8>", range(max = 100)]
            => "abovePercent" opt,
    }
}

doc_struct! {
    /// One entry of `policy.notifications`: a webhook. Give `url` or
    /// `urlEnv`, not both.
    pub struct ReceiverDoc ("a policy.notifications entry") {
        /// Its name, unique in the list: what logs and metrics show.
        pub name: Text [with = "ReceiverName"] => "name" req,
        /// Where to POST (http:// or https://), when the URL is not secret.
        pub url: Option<Text> [with = "Option<WebhookUrl>"] => "url" opt,
        /// The environment variable holding the URL (Teams and Slack
        /// webhook URLs are secrets).
        pub url_env: Option<Text> [with = "Option<EnvName>"] => "urlEnv" opt,
        /// `json` (default), `teams` or `slack`.
        pub format: Option<Text> [with = "Option<NotifyFormat>"] => "format" opt,
        /// The events to send; all of them when absent.
        pub on: Option<Spanned<Vec<Text>>> [with = "Option<Vec<NotifyEvent>>"] => "on" spanlist,
        /// The environment variable holding a token sent as
        /// `Authorization: Bearer <token>`.
        pub secret_env: Option<Text> [with = "Option<EnvName>"] => "secretEnv" opt,
        /// Headers whose values come from the environment.
        #[serde(default)]
        pub headers: Vec<EnvHeaderDoc> => "headers" list,
    }
}

doc_struct! {
    /// A header of a `policy.notifications` entry, its value from the
    /// environment.
    pub struct EnvHeaderDoc ("a notifications header") {
        /// The header's name (`X-Api-Key`).
        pub name: Text [with = "String"] => "name" req,
        /// The environment variable holding its value.
        pub env: Text [with = "EnvName"] => "env" req,
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

doc_struct! {
    /// `policy.poll:`.
    pub struct PollDoc ("policy.poll") {
        /// The first interval between two polls, and the interval again
        /// after a poll that saw a change; default 15s.
        pub interval: Option<Text> [with = "Option<Duration>"] => "interval" opt,
        /// The longest interval: while nothing changes the interval
        /// doubles up to this; default 30s.
        pub max: Option<Text> [with = "Option<Duration>"] => "max" opt,
    }
}

doc_struct! {
    /// `policy.rollout:` (docs/rollouts.md).
    pub struct RolloutDoc ("policy.rollout") {
        /// The steps, in order: `{members: N}` or `{percent: P}` (cumulative
        /// over the members the revision moves) with an optional `soak`, or
        /// `{pause: true}`.
        pub steps: Vec<Spanned<StepDoc>> [with = "Vec<StepDoc>"] => "steps" list,
        /// The thresholds judged during each soak.
        pub analysis: Option<AnalysisDoc> => "analysis" opt,
        /// `pause` (default) or `rollback`.
        pub on_failure: Option<Text> [with = "Option<OnFailureWord>"] => "onFailure" opt,
    }
}

doc_struct! {
    /// One step of `policy.rollout.steps`.
    pub struct StepDoc ("a rollout step") {
        /// Members of the revision started in all once this step is done.
        pub members: Option<Spanned<i64>> [with = "Option<u64>", range(min = 1)] => "members" opt,
        /// Share of the revision's members started in all, 1 to 100.
        pub percent: Option<Spanned<i64>> [with = "Option<u32>", range(min = 1, max = 100)]
            => "percent" opt,
        /// How long to hold and analyse once the step's members have moved.
        pub soak: Option<Text> [with = "Option<Duration>"] => "soak" opt,
        /// `true`: wait for `handover resume`.
        pub pause: Option<Spanned<bool>> [with = "Option<bool>"] => "pause" opt,
    }
}

doc_struct! {
    /// `policy.rollout.analysis:`.
    pub struct AnalysisDoc ("policy.rollout.analysis") {
        /// Moved members allowed off their new primary; default 0.
        pub max_failures: Option<Spanned<i64>> [with = "Option<u64>"] => "maxFailures" opt,
        /// Moved members allowed off their new primary, in percent of the
        /// step's moved members.
        pub max_failure_percent: Option<Spanned<i64>> [with = "Option<u32>", range(max = 100)]
            => "maxFailurePercent" opt,
        /// A new parent reporting this health state or worse fails the
        /// analysis: `warning` or `critical`.
        pub fail_on_health: Option<Text> [with = "Option<HealthBound>"] => "failOnHealth" opt,
        /// A new parent reporting a larger send queue fails the analysis.
        pub max_send_queue_size: Option<Spanned<i64>> [with = "Option<u64>"] => "maxSendQueueSize" opt,
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
    pub struct CapacityDoc ("policy.capacity") {
        /// Agents per gateway.
        pub gateway: Option<u32> => "gateway" opt,
        /// Agents plus gateways per management server.
        pub management_server: Option<u32> => "managementServer" opt,
    }
}

doc_struct! {
    /// `kind: Observed`: what a target reports.
    #[schemars(
        title = "handover Observed",
        description = "Observed SCOM / Skype for Business state (handover/v1)."
    )]
    pub struct ObservedDoc ("the Observed document") {
        /// Always `handover/v1`.
        pub api_version: Text [with = "ApiVersion"] => "apiVersion" req,
        /// Always `Observed`.
        pub kind: Text [with = "ObservedKind"] => "kind" req,
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
    pub struct ObservedServerDoc ("an observed management server") {
        /// Its host name.
        pub name: Text [with = "HostName"] => "name" req,
        /// Running and accepting members (default true).
        pub up: Option<bool> => "up" opt,
        /// Its health, when the provider reports it.
        pub health: Option<HealthDoc> => "health" opt,
    }
}

doc_struct! {
    /// An observed store pool.
    pub struct ObservedPoolDoc ("a managementStore pool") {
        /// Its host name.
        pub name: Text [with = "HostName"] => "name" req,
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
    pub struct ObservedMemberDoc ("an observed gateway or agent") {
        /// Its host name.
        pub name: Text [with = "HostName"] => "name" req,
        /// Its configured primary.
        pub primary: Text [with = "HostName"] => "primary" req,
        /// Its configured failovers.
        #[serde(default)]
        pub failover: Vec<Text> [with = "Vec<HostName>"] => "failover" list,
        /// The parent it talks to now; null when disconnected.
        pub connected: Option<Text> [with = "Option<HostName>"] => "connected" opt,
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
    pub struct HealthDoc ("health") {
        /// The health state of its Health Service.
        pub state: Option<Text> [with = "Option<HealthWord>"] => "state" opt,
        /// Its `Health Service Management Groups\Send Queue Size`.
        pub send_queue_size: Option<Spanned<i64>> [with = "Option<u64>"] => "sendQueueSize" opt,
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
    pub struct EvidenceDoc ("evidence") {
        /// The provider's clock when it read these facts.
        pub observed_at: Text [with = "Utc"] => "observedAt" req,
        /// The parents the member has learned.
        pub learned: Option<LearnedDoc> => "learned" opt,
        /// Its last heartbeat.
        pub heartbeat: Option<HeartbeatDoc> => "heartbeat" opt,
        /// When it last applied a new configuration (event 1210).
        pub config_applied_at: Option<Text> [with = "Option<Utc>"] => "configAppliedAt" opt,
    }
}

doc_struct! {
    /// `evidence.learned`: the member's own parent list.
    pub struct LearnedDoc ("evidence.learned") {
        /// Learned primary first, then failovers.
        pub parents: Vec<Text> [with = "Vec<HostName>"] => "parents" list,
        /// When the member read them.
        pub at: Text [with = "Utc"] => "at" req,
    }
}

doc_struct! {
    /// `evidence.heartbeat`: the member's last heartbeat.
    pub struct HeartbeatDoc ("evidence.heartbeat") {
        /// When it arrived.
        pub at: Text [with = "Utc"] => "at" req,
        /// The server it came through.
        pub via: Option<Text> [with = "Option<HostName>"] => "via" opt,
    }
}

doc_struct! {
    /// The observed Central Management Store.
    pub struct ObservedStoreDoc ("managementStore") {
        /// Where it is active; null when unavailable.
        pub active_pool: Option<Text> [with = "Option<HostName>"] => "activePool" opt,
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
