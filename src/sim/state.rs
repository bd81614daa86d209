//! The simulator's state: servers, members (with their two views), the
//! store, the event queue, the random stream and the counters.
//!
//! Owns the data layout of [`Sim`] and its serialised form. Must not hold
//! behaviour beyond construction helpers and lookups: the rules live in
//! `rules`, faults in `faults`, the store in `store`, the provider seam in
//! `target`. Members and servers are addressed by dense `u32` ids; names
//! are looked up through an index rebuilt after loading.

use super::config::SimConfig;
use super::events::Queue;
use super::store::Store;
use crate::hash::FastMap as HashMap;
use crate::model::{MemberKind, Parents};
use crate::name::Name;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub(crate) use super::ids::{MemberId, ServerId};

/// What kind of server accepts members: the model's one [`ServerKind`]. A
/// gateway is also a member (see [`Server::member`]); a name some member
/// lists as a parent but no server answers to is
/// [`ServerKind::Unknown`] and never accepts anyone.
pub(crate) use crate::model::ServerKind;

/// The words a saved simulator state has always used for a
/// [`ServerKind`] (`management`, `gateway`, `absent`), so that files
/// written before the kinds were unified still load.
mod saved_kind {
    use crate::model::ServerKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &ServerKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match k {
            ServerKind::ManagementServer => "management",
            ServerKind::Gateway => "gateway",
            ServerKind::Unknown => "absent",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ServerKind, D::Error> {
        match String::deserialize(d)?.as_str() {
            "management" => Ok(ServerKind::ManagementServer),
            "gateway" => Ok(ServerKind::Gateway),
            "absent" => Ok(ServerKind::Unknown),
            other => Err(serde::de::Error::unknown_variant(
                other,
                &["management", "gateway", "absent"],
            )),
        }
    }
}

/// One server, seen as a parent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Server {
    pub name: Name,
    #[serde(with = "saved_kind")]
    pub kind: ServerKind,
    pub up: bool,
    /// Gateways: approved, certificate imported, configuration received.
    pub ready: bool,
    /// Retired gateways stay in the table (ids are stable) but are gone.
    pub retired: bool,
    /// Gateways: the same host as a member.
    pub member: Option<MemberId>,
    /// Members parked until this server may accept them again, with the
    /// park epoch that was current when they parked (stale entries are
    /// skipped when the server wakes them).
    pub waiting: Vec<(MemberId, u32)>,
    /// Members connected here now. Rebuilt from the members after loading.
    #[serde(skip)]
    pub connected: BTreeSet<MemberId>,
    /// Armed by an `overload` fault: the server goes down once more
    /// members than this are connected to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overload_above: Option<u32>,
    /// Gateways: whether, at the last check, its own connection reached a
    /// management server that is up (see `Sim::has_path`). Derived, so a
    /// gateway that gains a path wakes the members parked on it.
    #[serde(skip)]
    pub had_path: bool,
}

/// A parent list in ids: primary, then failovers in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ids {
    pub primary: ServerId,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failover: Vec<ServerId>,
}

impl Ids {
    /// Primary then failovers.
    pub fn iter(&self) -> impl Iterator<Item = ServerId> + '_ {
        std::iter::once(self.primary).chain(self.failover.iter().copied())
    }

    /// True when `s` is the primary or a failover.
    pub fn lists(&self, s: ServerId) -> bool {
        self.iter().any(|x| x == s)
    }
}

/// One member: the management group's view and the member's own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Member {
    pub name: Name,
    pub kind: MemberKind,
    /// Gateways: the same host as a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerId>,
    /// The management group's configuration (what `set_parents` writes).
    pub mg: Ids,
    /// What the member last learned and acts on.
    pub learned: Ids,
    /// The server it is connected to now.
    pub connected: Option<ServerId>,
    /// Heartbeating (the `offline`/`online` faults).
    pub online: bool,
    /// Never picks up new configuration (the `neverAck` fault).
    pub never_ack: bool,
    /// A retired gateway's member side is gone too.
    pub retired: bool,
    /// Offset of its 60 s retry cycle, in milliseconds.
    pub phase_ms: u32,
    /// A `Learn` event is queued.
    pub learn_pending: bool,
    /// A `Retry` event is queued.
    pub retry_pending: bool,
    /// Waiting on servers' wait lists instead of retrying uselessly.
    pub parked: bool,
    /// Incremented at each park, so stale wait-list entries are ignored.
    pub park_epoch: u32,
}

/// Counters of provider calls, for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    /// `observe` calls, failed ones included.
    pub observe: u64,
    /// `apply` calls, failed ones included.
    pub apply: u64,
    /// Calls that failed with an injected transient error, lost answers
    /// (applied, reported as failed) included.
    pub transient_failures: u64,
    /// Calls refused with a permanent error.
    pub permanent_failures: u64,
    /// Applies that changed something (idempotent repeats do not count).
    pub changes: u64,
}

/// The random stream, serialisable as seed + stream + position so a saved
/// simulation continues with exactly the numbers it would have drawn.
#[derive(Clone, Debug)]
pub(crate) struct SimRng(pub ChaCha8Rng);

#[derive(Serialize, Deserialize)]
struct RngDoc {
    seed: String,
    stream: u64,
    word_pos: String,
}

impl Serialize for SimRng {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let seed: String = self
            .0
            .get_seed()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        RngDoc {
            seed,
            stream: self.0.get_stream(),
            word_pos: self.0.get_word_pos().to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SimRng {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let doc = RngDoc::deserialize(d)?;
        if doc.seed.len() != 64 || !doc.seed.is_ascii() {
            return Err(D::Error::custom("rng seed must be 64 hexadecimal digits"));
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&doc.seed[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("rng seed must be 64 hexadecimal digits"))?;
        }
        let pos: u128 = doc
            .word_pos
            .parse()
            .map_err(|_| D::Error::custom("rng word_pos must be a whole number"))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(doc.stream);
        rng.set_word_pos(pos);
        Ok(SimRng(rng))
    }
}

/// Name lookups, rebuilt from the tables (never serialised).
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    pub servers: HashMap<Name, ServerId>,
    pub members: HashMap<Name, MemberId>,
}

/// The simulated estate: a management group (and optionally a Central
/// Management Store) running in virtual time.
///
/// Build one with [`Sim::from_observed`]; drive it through the
/// [`Provider`](crate::provider::Provider) and
/// [`Clock`](crate::provider::Clock) traits (or their synchronous twins
/// [`Sim::observe_now`], [`Sim::apply_now`], [`Sim::advance`]); inspect it
/// with [`Sim::stranded`], [`Sim::member`] and friends; persist it with
/// [`Sim::save_json`] and [`Sim::load_json`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sim {
    pub(crate) config: SimConfig,
    /// Virtual time, in milliseconds since the start.
    pub(crate) now_ms: u64,
    pub(crate) servers: Vec<Server>,
    pub(crate) members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<Store>,
    pub(crate) queue: Queue,
    /// How many faults of `config.faults` (in time order) have fired.
    pub(crate) faults_fired: usize,
    /// The `providerErrorRate` in force.
    pub(crate) error_rate: f64,
    /// The `providerLostAnswerRate` in force (absent from simulations
    /// saved before it existed: none).
    #[serde(default)]
    pub(crate) lost_answer_rate: f64,
    pub(crate) rng: SimRng,
    pub(crate) calls: Calls,
    /// Members found stranded at some instant of the run (checked after
    /// every event and every call), even if something later healed them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) stranded_ever: BTreeSet<MemberId>,
    /// Per server: could it ever relay configuration again, given what
    /// every gateway has learned (see `Sim::rooted`)? Empty when it must
    /// be computed again.
    #[serde(skip)]
    pub(crate) rooted: Vec<bool>,
    /// Members whose stranding must be judged again after this event.
    #[serde(skip)]
    pub(crate) touched: Vec<MemberId>,
    /// Some gateway's connection changed: paths must be checked again.
    #[serde(skip)]
    pub(crate) paths_dirty: bool,
    /// Some server is armed by an `overload` fault (derived).
    #[serde(skip)]
    pub(crate) overload_armed: bool,
    /// Some gateway's configuration or learned parents changed: `rooted`
    /// must be computed again.
    #[serde(skip)]
    pub(crate) roots_stale: bool,
    #[serde(skip)]
    pub(crate) index: Index,
}

impl Sim {
    /// Rebuilds the name index and the per-server connected sets from the
    /// tables (after construction or loading).
    pub(crate) fn rebuild_derived(&mut self) {
        let mut index = Index::default();
        self.overload_armed = self.servers.iter().any(|s| s.overload_above.is_some());
        for (i, s) in self.servers.iter_mut().enumerate() {
            s.connected.clear();
            index.servers.entry(s.name.clone()).or_insert(i as ServerId);
        }
        for (i, m) in self.members.iter().enumerate() {
            index.members.entry(m.name.clone()).or_insert(i as MemberId);
            if let Some(c) = m.connected {
                self.servers[c as usize].connected.insert(i as MemberId);
            }
        }
        self.index = index;
    }

    /// The names of a parent list.
    pub(crate) fn names(&self, ids: &Ids) -> Parents {
        Parents {
            primary: self.servers[ids.primary as usize].name.clone(),
            failover: ids
                .failover
                .iter()
                .map(|s| self.servers[*s as usize].name.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod saved_kind_tests {
    use super::ServerKind;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Kind(#[serde(with = "super::saved_kind")] ServerKind);

    /// A saved state keeps the words it always had.
    #[test]
    fn saved_kinds_keep_their_words() {
        for (k, word) in [
            (ServerKind::ManagementServer, "\"management\""),
            (ServerKind::Gateway, "\"gateway\""),
            (ServerKind::Unknown, "\"absent\""),
        ] {
            assert_eq!(serde_json::to_string(&Kind(k)).unwrap(), word);
            assert_eq!(serde_json::from_str::<Kind>(word).unwrap(), Kind(k));
        }
        assert!(serde_json::from_str::<Kind>("\"management_server\"").is_err());
    }
}
