//! The executor's latest knowledge of the estate: the pass's starting
//! observation, refreshed by every poll and by every operation it applied.
//!
//! Owns the checks a step makes before acting (does the effect already
//! hold?) and the await conditions. Plain data; no I/O.

use crate::model::{MemberKind, Observed, ObservedStore, Parents};
use crate::name::Name;
use crate::plan::Action;
use crate::plan::fasthash::FastMap as HashMap;

/// What the executor knows about one member.
#[derive(Clone, Debug)]
pub(crate) struct MemberView {
    pub parents: Parents,
    pub connected: Option<Name>,
    pub up: bool,
    pub ready: bool,
}

/// The latest observation, by member name.
#[derive(Debug, Default)]
pub(crate) struct View {
    members: HashMap<(MemberKind, Name), MemberView>,
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
                    MemberView {
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

    fn member(&self, kind: MemberKind, name: &Name) -> Option<&MemberView> {
        self.members.get(&(kind, name.clone()))
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
