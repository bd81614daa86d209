//! The simulated Central Management Store (basic; a later issue deepens it).
//!
//! Owns pools (up/down), the active pool, replication (complete a seeded lag
//! after the store changes or its pool comes back) and the
//! `store_failover` operation: planned (refused unless replication is
//! complete and both pools are up) and disaster (only while the active pool
//! is down, and only with a backup SQL server). An accepted failover makes
//! the store active in the new pool after a seeded delay; until then the
//! store is reported active in no pool (mid-failover). The `bothActive`
//! fault makes the next failover that finishes leave the store active in
//! its old pool too (the Skype for Business 2015 RTM hazard); such a store
//! refuses further failovers until repaired by hand. Must not know about
//! members or the provider seam (the `store_failover` operation is `store_ops`).

use crate::model::{ObservedPool, ObservedStore};
use crate::name::Name;
use crate::plan::FailoverMode;
use serde::{Deserialize, Serialize};

/// One pool that can host the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Pool {
    pub name: Name,
    pub up: bool,
}

/// A failover accepted and not finished yet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InFlight {
    pub pool: u32,
    pub mode: FailoverMode,
}

/// The store's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Store {
    pub pools: Vec<Pool>,
    /// Where the store is active (reported even while that pool is down,
    /// so a planner can tell a disaster from a missing store).
    pub active: Option<u32>,
    pub replication_complete: bool,
    /// Bumped whenever the store changes, so stale events are ignored.
    pub generation: u64,
    pub failover: Option<InFlight>,
    /// The next failover that finishes leaves the store active in its old
    /// pool too (the `bothActive` fault).
    #[serde(default)]
    pub split_next: bool,
    /// Pools where the store is still active besides `active` (the RTM
    /// hazard happened).
    #[serde(default)]
    pub also_active: Vec<u32>,
    /// Disaster-recovery failovers accepted (each skipped the replication
    /// check).
    #[serde(default)]
    pub disaster_failovers: u32,
}

impl Store {
    /// The store as observed.
    pub(crate) fn from_observed(o: &ObservedStore) -> Store {
        let mut pools: Vec<Pool> = Vec::new();
        for p in &o.pools {
            if !pools.iter().any(|q| q.name == p.name) {
                pools.push(Pool {
                    name: p.name.clone(),
                    up: p.up,
                });
            }
        }
        let active =
            o.active_pool
                .as_ref()
                .map(|a| match pools.iter().position(|p| &p.name == a) {
                    Some(i) => i as u32,
                    None => {
                        pools.push(Pool {
                            name: a.clone(),
                            up: true,
                        });
                        (pools.len() - 1) as u32
                    }
                });
        let mut also_active = pools_marked_active(o, &pools, active);
        // A null `activePool` with a pool marked active: that pool is it.
        let active = match active {
            None if !also_active.is_empty() => Some(also_active.remove(0)),
            a => a,
        };
        Store {
            pools,
            active,
            replication_complete: o.replication_complete,
            generation: 0,
            failover: None,
            split_next: false,
            also_active,
            disaster_failovers: 0,
        }
    }

    /// The index of a pool.
    pub(crate) fn pool(&self, name: &Name) -> Option<u32> {
        self.pools
            .iter()
            .position(|p| &p.name == name)
            .map(|i| i as u32)
    }

    pub(crate) fn active_up(&self) -> bool {
        self.active.is_some_and(|a| self.pools[a as usize].up)
    }

    /// The store as a provider reports it. While a failover is under way
    /// the store is active in no pool (`activePool: null`): the source
    /// database is read-only and the target not active yet, as
    /// `Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus`
    /// shows no active master. Planners must treat that as unknown, never
    /// as a pool down.
    pub(crate) fn observe(&self) -> ObservedStore {
        let active = if self.failover.is_some() {
            None
        } else {
            self.active
        };
        ObservedStore {
            active_pool: active.map(|a| self.pools[a as usize].name.clone()),
            pools: self
                .pools
                .iter()
                .enumerate()
                .map(|(i, p)| ObservedPool {
                    name: p.name.clone(),
                    up: p.up,
                    active: self.also_active.contains(&(i as u32)),
                })
                .collect(),
            replication_complete: self.replication_complete
                && self.active_up()
                && self.failover.is_none(),
        }
    }
}

/// The pools an observed store marks `active: true` besides `active`.
fn pools_marked_active(o: &ObservedStore, pools: &[Pool], active: Option<u32>) -> Vec<u32> {
    o.pools
        .iter()
        .filter(|p| p.active)
        .filter_map(|p| pools.iter().position(|q| q.name == p.name))
        .map(|i| i as u32)
        .filter(|&i| Some(i) != active)
        .collect()
}
