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
//! members or the provider seam beyond returning [`ProviderError`].

use super::events::Event;
use super::state::Sim;
use crate::model::{ObservedPool, ObservedStore};
use crate::name::Name;
use crate::plan::FailoverMode;
use crate::provider::ProviderError;
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

    fn active_up(&self) -> bool {
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

/// The fields of a `store_failover` operation the simulator checks.
pub(crate) struct FailoverRequest<'a> {
    pub pool: &'a Name,
    pub mode: FailoverMode,
    pub backup_sql_server: Option<&'a Name>,
}

impl Sim {
    /// Schedules replication at start when the observed store had not
    /// finished replicating.
    pub(crate) fn store_start(&mut self) {
        if let Some(store) = &self.store
            && !store.replication_complete
            && store.active_up()
        {
            self.schedule_replication();
        }
    }

    fn schedule_replication(&mut self) {
        let lag = self.draw_ms(self.config.replication_lag);
        let Some(store) = self.store.as_mut() else {
            return;
        };
        store.replication_complete = false;
        let generation = store.generation;
        self.queue
            .push(self.now_ms + lag, Event::Replicated { generation });
    }

    pub(crate) fn on_replicated(&mut self, generation: u64) {
        if let Some(store) = self.store.as_mut()
            && store.generation == generation
            && store.active_up()
        {
            store.replication_complete = true;
        }
    }

    pub(crate) fn on_store_active(&mut self, pool: u32, generation: u64) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        if store.generation != generation {
            return;
        }
        store.failover = None;
        if std::mem::take(&mut store.split_next)
            && let Some(old) = store.active
            && old != pool
        {
            store.also_active.push(old);
        }
        store.active = Some(pool);
        store.generation += 1;
        store.replication_complete = false;
        if store.active_up() {
            self.schedule_replication();
        }
    }

    /// A pool stops (`down` fault).
    pub(crate) fn pool_down(&mut self, i: u32) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        store.pools[i as usize].up = false;
        let hit_active = store.active == Some(i);
        let hit_target = store.failover.as_ref().is_some_and(|f| f.pool == i);
        if hit_active || hit_target {
            // Replication stops, and a failover under way fails: its target
            // stopped, or (planned) its source did.
            store.generation += 1;
            store.replication_complete = false;
            store.failover = None;
            // The store stays where it was; while its pool is up its
            // replicas catch up again (the failover may have set the source
            // read-only part-way).
            if store.active_up() {
                self.schedule_replication();
            }
        }
    }

    /// A pool starts again (`up` fault).
    pub(crate) fn pool_up(&mut self, i: u32) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let was_up = std::mem::replace(&mut store.pools[i as usize].up, true);
        if !was_up && store.active == Some(i) && store.failover.is_none() {
            store.generation += 1;
            self.schedule_replication();
        }
    }

    /// The `bothActive` fault: whether the next failover that finishes
    /// leaves the store active in its old pool too.
    pub(crate) fn store_split_next(&mut self, on: bool) {
        if let Some(store) = self.store.as_mut() {
            store.split_next = on;
        }
    }

    /// The `replicationLag` fault: the replicas fall behind now (a change
    /// was published to the store) and replication takes `lag` from now on.
    /// Unless a failover is under way (it replicates after it finishes) or
    /// the active pool is down, replication restarts and completes `lag`
    /// from now.
    pub(crate) fn set_replication_lag(&mut self, lag: std::time::Duration) {
        self.config.replication_lag = super::DelayRange { min: lag, max: lag };
        if let Some(store) = self.store.as_mut()
            && store.failover.is_none()
            && store.active_up()
        {
            store.generation += 1;
            self.schedule_replication();
        }
    }

    /// Disaster-recovery failovers accepted so far (each skipped the
    /// replication check, so changes since the last replication may be
    /// lost). Zero without a store.
    pub fn disaster_failovers(&self) -> u32 {
        self.store.as_ref().map_or(0, |s| s.disaster_failovers)
    }

    /// `Invoke-CsManagementServerFailover`. Idempotent: a failover to the
    /// pool where the store is active, or already under way to it, succeeds
    /// and changes nothing. Returns whether anything changed.
    pub(crate) fn store_failover(
        &mut self,
        req: FailoverRequest<'_>,
    ) -> Result<bool, ProviderError> {
        let delay = self.config.store_failover;
        let Some(store) = self.store.as_ref() else {
            return Err(ProviderError::Permanent(
                "this target has no Central Management Store".into(),
            ));
        };
        let Some(target) = store.pool(req.pool) else {
            return Err(ProviderError::Permanent(format!(
                "unknown pool {}: the Central Management Store can only fail over to one of {}",
                req.pool,
                store
                    .pools
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(f) = &store.failover {
            return if f.pool == target {
                Ok(false)
            } else {
                Err(ProviderError::Permanent(format!(
                    "a failover of the Central Management Store to {} is already under way",
                    store.pools[f.pool as usize].name
                )))
            };
        }
        if !store.also_active.is_empty() {
            return Err(ProviderError::Permanent(
                "the Central Management Store is active in more than one pool; make it active in one pool by hand before any failover".into(),
            ));
        }
        if store.active == Some(target) {
            return Ok(false);
        }
        if !store.pools[target as usize].up {
            return Err(ProviderError::Permanent(format!(
                "pool {} is down; the Central Management Store cannot fail over to it",
                req.pool
            )));
        }
        match req.mode {
            FailoverMode::Planned => {
                if !store.active_up() {
                    return Err(ProviderError::Permanent(
                        "the active pool is down; a planned failover needs the store available (use disaster recovery)".into(),
                    ));
                }
                if !store.replication_complete {
                    return Err(ProviderError::Permanent(
                        "replication of the Central Management Store is not complete; wait for it before a planned failover".into(),
                    ));
                }
            }
            FailoverMode::Disaster => {
                if store.active_up() {
                    return Err(ProviderError::Permanent(
                        "the active pool is up; a disaster-recovery failover (-Force) is refused while the store is available (use a planned failover)".into(),
                    ));
                }
                if req.backup_sql_server.is_none() {
                    return Err(ProviderError::Permanent(
                        "a disaster-recovery failover needs a backup SQL server (-BackupSqlServerFqdn)".into(),
                    ));
                }
            }
        }
        let wait = self.draw_ms(delay);
        let store = self.store.as_mut().expect("checked above");
        store.generation += 1;
        store.replication_complete = false;
        if req.mode == FailoverMode::Disaster {
            store.disaster_failovers += 1;
        }
        store.failover = Some(InFlight {
            pool: target,
            mode: req.mode,
        });
        let generation = store.generation;
        self.queue.push(
            self.now_ms + wait,
            Event::StoreActive {
                pool: target,
                generation,
            },
        );
        Ok(true)
    }
}
