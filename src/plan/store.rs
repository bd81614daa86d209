//! The Central Management Store (SPEC rule 7): where it should be active.
//!
//! Owns the store's part of a plan: a planned failover (replication first)
//! when the active pool is up, a disaster-recovery failover only when the
//! topology allows it and names a backup SQL server, otherwise a blocked
//! entry saying what to set. A store observed active in more than one pool
//! (the Skype for Business 2015 RTM hazard) is blocked: no failover can
//! repair it, a person must. `managementStore.restore` rides on the
//! failover as `-Restore`. Independent of member steps. Pure.

use super::types::{Action, BlockReason, FailoverMode};
use crate::model::{ObservedStore, StoreSpec};

/// The store's actions in order (each after the previous), or why none.
pub(crate) fn store_actions(
    desired: &StoreSpec,
    observed: Option<&ObservedStore>,
) -> Result<Vec<Action>, BlockReason> {
    let Some(obs) = observed else {
        return Err(BlockReason::StoreNotObserved);
    };
    let pool = &desired.pool;
    let active = obs.active_pools();
    if active.len() > 1 {
        return Err(BlockReason::StoreActiveInSeveralPools {
            pools: active.into_iter().cloned().collect(),
        });
    }
    let pool_up = |p: &crate::name::Name| obs.pools.iter().find(|x| &x.name == p).map(|x| x.up);
    match pool_up(pool) {
        None => {
            return Err(BlockReason::StorePoolAbsent { pool: pool.clone() });
        }
        Some(false) => return Err(BlockReason::StorePoolDown { pool: pool.clone() }),
        Some(true) => {}
    }
    // At most one active pool from here on (`activePool`, or a pool marked
    // active when `activePool` is null).
    let current = active.first().copied();
    if current == Some(pool) {
        return Ok(Vec::new());
    }
    let active_up = current.and_then(pool_up).unwrap_or(false);
    if active_up {
        return Ok(vec![
            Action::AwaitReplication { pool: pool.clone() },
            Action::StoreFailover {
                pool: pool.clone(),
                mode: FailoverMode::Planned,
                backup_sql_server: None,
                backup_sql_instance: None,
                backup_mirror_sql_server: None,
                backup_mirror_sql_instance: None,
                restore: desired.restore,
            },
            Action::AwaitStoreActive { pool: pool.clone() },
        ]);
    }
    let dr = &desired.disaster_recovery;
    let active = current.cloned();
    if !dr.allowed {
        return Err(BlockReason::DisasterRecoveryNotAllowed { active });
    }
    let Some(backup) = &dr.backup_sql_server else {
        return Err(BlockReason::BackupSqlServerMissing { active });
    };
    Ok(vec![
        Action::StoreFailover {
            pool: pool.clone(),
            mode: FailoverMode::Disaster,
            backup_sql_server: Some(backup.clone()),
            backup_sql_instance: dr.backup_sql_instance.clone(),
            backup_mirror_sql_server: dr.backup_mirror_sql_server.clone(),
            backup_mirror_sql_instance: dr.backup_mirror_sql_instance.clone(),
            restore: desired.restore,
        },
        Action::AwaitStoreActive { pool: pool.clone() },
    ])
}
