//! The simulated store's behaviour on the estate: replication at start
//! and after changes, and the `store_failover` operation (see `store` for
//! the rules it follows).
//!
//! Owns the `impl Sim` half of the store, apart from its data (`store`) so
//! that the data does not import the simulation that holds it. Must not
//! know about members or the provider seam beyond returning
//! [`ProviderError`].

use super::events::Event;
use super::state::Sim;
use super::store::InFlight;
use crate::name::Name;
use crate::plan::FailoverMode;
use crate::provider::ProviderError;

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
        self.config.replication_lag = super::config::DelayRange { min: lag, max: lag };
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
