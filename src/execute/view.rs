//! The executor's latest knowledge of the estate: the pass's starting
//! observation, refreshed by every poll and by every operation it applied.
//!
//! Owns the checks a step makes before acting (does the effect already
//! hold?) and the await conditions. Plain data; no I/O.

use crate::hash::FastMap as HashMap;
use crate::model::{MemberKind, Observed, ObservedStore, Parents};
use crate::name::Name;
use crate::plan::Action;

/// What the executor knows about one member: the facts of its latest
/// observation that the checks and awaits read. Not the simulator's
/// `sim::SimulatedMember` (the simulator's own truth, with what the member
/// has learned) nor `render::MemberView` (one member's change as a plan
/// shows it to people).
#[derive(Clone, Debug)]
pub(crate) struct KnownMember {
    /// Its parents as the management group has them configured.
    pub parents: Parents,
    /// The server it was connected to when last observed.
    pub connected: Option<Name>,
    /// Heartbeating when last observed.
    pub up: bool,
    /// A gateway that can take members (always true for an agent).
    pub ready: bool,
}

/// The latest observation, by member name.
#[derive(Debug, Default)]
pub(crate) struct View {
    members: HashMap<(MemberKind, Name), KnownMember>,
    store: Option<ObservedStore>,
}

impl View {
    /// Starts from a full observation.
    pub fn new(o: &Observed) -> Self {
        let mut v = View::default();
        v.update(o);
        v
    }

    /// Overwrites what `o` reports (a scoped observation reports only some
    /// members; the others keep their last known state).
    pub fn update(&mut self, o: &Observed) {
        for (kind, list) in [
            (MemberKind::Gateway, &o.gateways),
            (MemberKind::Agent, &o.agents),
        ] {
            for m in list {
                self.members.insert(
                    (kind, m.name.clone()),
                    KnownMember {
                        parents: m.parents.clone(),
                        connected: m.connected.clone(),
                        up: m.up,
                        ready: m.ready,
                    },
                );
            }
        }
        if o.management_store.is_some() {
            self.store = o.management_store.clone();
        }
    }

    fn member(&self, kind: MemberKind, name: &Name) -> Option<&KnownMember> {
        self.members.get(&(kind, name.clone()))
    }

    /// The member's configured parents and connection, as last observed
    /// (or written), for the re-check before a write that removes parents.
    pub fn latest(&self, kind: MemberKind, name: &Name) -> Option<(&Parents, Option<&Name>)> {
        self.member(kind, name)
            .map(|m| (&m.parents, m.connected.as_ref()))
    }

    /// Why a `store_failover` must not be invoked now, by the latest
    /// observation (defence in depth, independent of the planner): the
    /// store is active in several pools, or in none (a failover may be
    /// under way, or the target cannot tell), or a disaster-recovery
    /// failover is asked while the active pool is not observed down.
    /// `None` when it may run (or when no store was observed at all: the
    /// provider then answers for itself). The flag is true when the chain
    /// has failed (active in several pools: a person must repair it), false
    /// when the store is only pending.
    pub fn store_hazard(
        &self,
        pool: &Name,
        mode: crate::plan::FailoverMode,
    ) -> Option<(String, bool)> {
        let st = self.store.as_ref()?;
        let active = st.active_pools();
        match active.as_slice() {
            [] => Some((
                format!(
                    "not invoked: the Central Management Store is active in no pool (a failover may be under way, or the provider cannot tell); the store stays as it is (pending): the next pass observes it again before any failover to {pool}"
                ),
                false,
            )),
            [a] if mode == crate::plan::FailoverMode::Disaster
                && st.pools.iter().find(|p| &p.name == *a).is_none_or(|p| p.up) =>
            {
                Some((
                    format!(
                        "not invoked: a disaster-recovery failover (-Force) to {pool} needs the active pool observed down, and {a} is not; the store stays as it is (pending): plan again"
                    ),
                    false,
                ))
            }
            [_] => None,
            several => Some((
                format!(
                    "not invoked: the Central Management Store is active in {} pools at once ({}); make it active in one pool by hand",
                    several.len(),
                    several
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                true,
            )),
        }
    }

    /// True when the member's configured parents already equal `p`.
    pub fn holds(&self, kind: MemberKind, name: &Name, p: &Parents) -> bool {
        self.member(kind, name).is_some_and(|m| &m.parents == p)
    }

    /// Records parents the executor has just written.
    pub fn wrote(&mut self, kind: MemberKind, name: &Name, p: &Parents) {
        if let Some(m) = self.members.get_mut(&(kind, name.clone())) {
            m.parents = p.clone();
        }
    }

    /// True when the gateway is known to the management group.
    pub fn has_gateway(&self, name: &Name) -> bool {
        self.member(MemberKind::Gateway, name).is_some()
    }

    /// Forgets a retired gateway.
    pub fn retired(&mut self, name: &Name) {
        self.members.remove(&(MemberKind::Gateway, name.clone()));
    }

    /// True when the store is known to be active in `pool` and in no other.
    pub fn active_only_in(&self, pool: &Name) -> bool {
        self.store.as_ref().is_some_and(|s| s.active_only_in(pool))
    }

    /// Why a waiting await can never be met, when the latest observation
    /// says so: today only `await_store_active` while the store is active in
    /// more than one pool (safety rule 7: never a success, never a silent
    /// timeout).
    pub fn broken(&self, action: &Action) -> Option<String> {
        let Action::AwaitStoreActive { pool } = action else {
            return None;
        };
        let active = self.store.as_ref()?.active_pools();
        (active.len() > 1).then(|| {
            let list: Vec<&str> = active.iter().map(|p| p.as_str()).collect();
            format!(
                "the Central Management Store is active in {} pools at once ({}) after the failover to {pool}; make it active in one pool by hand",
                list.len(),
                list.join(", ")
            )
        })
    }

    /// True when an await's condition holds.
    pub fn met(&self, action: &Action) -> bool {
        match action {
            Action::AwaitConnected { kind, name, server } => self
                .member(*kind, name)
                .is_some_and(|m| m.connected.as_ref() == Some(server)),
            Action::AwaitReady { kind, name } => self
                .member(*kind, name)
                .is_some_and(|m| m.up && m.ready && m.connected.is_some()),
            Action::AwaitReplication { .. } => {
                self.store.as_ref().is_some_and(|s| s.replication_complete)
            }
            Action::AwaitStoreActive { pool } => self.active_only_in(pool),
            _ => false,
        }
    }
}
