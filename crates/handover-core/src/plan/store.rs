//! The Central Management Store (docs/spec.md rule 7): where it should be active.
//!
//! Owns the store's part of a plan: a planned failover (replication first)
//! when the active pool is up, a disaster-recovery failover only when the
//! topology allows it and names a backup SQL server, otherwise a blocked
//! entry saying what to set. A store observed active in more than one pool
//! (the Skype for Business 2015 RTM hazard) is blocked: no failover can
//! repair it, a person must. A store active in no pool is unknown
//! (mid-failover, or the provider cannot tell): blocked, never a disaster
//! failover. `managementStore.restore` rides on a planned failover as
//! `-Restore`, never on a disaster one. Independent of member steps. Pure.

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
    // active when `activePool` is null). None at all: the store is unknown
    // (mid-failover, or the provider cannot tell). That is never a reason
    // for a disaster-recovery failover, which needs the active pool
    // *observed* down (docs/spec.md rule 3.7): block, and the next pass observes
    // again.
    let Some(current) = active.first().copied() else {
        return Err(BlockReason::StoreActivePoolUnknown);
    };
    if current == pool {
        return Ok(Vec::new());
    }
    // An active pool missing from `pools` (validation refuses that in
    // files; a provider may still send it) counts as up: never a disaster.
    let active_up = pool_up(current).unwrap_or(true);
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
    let active = Some(current.clone());
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
            // `-Restore` is not in the cmdlet's disaster-recovery parameter
            // set; validation refuses `restore` with disaster recovery, and
            // a disaster failover never carries it.
            restore: false,
        },
        Action::AwaitStoreActive { pool: pool.clone() },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::{DisasterRecovery, ObservedPool};
    use crate::name::Name;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn spec(restore: bool) -> StoreSpec {
        StoreSpec {
            pool: n("pool2"),
            pos: Pos::default(),
            disaster_recovery: DisasterRecovery {
                allowed: true,
                backup_sql_server: Some(n("sql2")),
                ..Default::default()
            },
            restore,
        }
    }

    fn store(active: Option<&str>, pools: &[(&str, bool, bool)]) -> ObservedStore {
        ObservedStore {
            active_pool: active.map(n),
            pools: pools
                .iter()
                .map(|&(name, up, active)| ObservedPool {
                    name: n(name),
                    up,
                    active,
                })
                .collect(),
            replication_complete: true,
        }
    }

    #[test]
    fn no_active_pool_is_unknown_and_never_a_disaster_failover() {
        // Even with disaster recovery allowed and a backup SQL server
        // named, and the old pool down: nobody observed the active pool
        // down, so nothing is planned.
        for pools in [
            [("pool1", true, false), ("pool2", true, false)],
            [("pool1", false, false), ("pool2", true, false)],
        ] {
            let obs = store(None, &pools);
            assert_eq!(
                store_actions(&spec(false), Some(&obs)),
                Err(BlockReason::StoreActivePoolUnknown)
            );
        }
        let r = BlockReason::StoreActivePoolUnknown;
        assert_eq!(r.code(), "store_active_pool_unknown");
        assert!(r.to_string().contains("active in no pool"), "{r}");
    }

    #[test]
    fn an_active_pool_observed_down_is_a_disaster_failover_without_restore() {
        let obs = store(
            Some("pool1"),
            &[("pool1", false, false), ("pool2", true, false)],
        );
        let steps = store_actions(&spec(true), Some(&obs)).unwrap();
        match &steps[0] {
            Action::StoreFailover { mode, restore, .. } => {
                assert_eq!(*mode, FailoverMode::Disaster);
                assert!(!restore, "-Restore is not in the disaster parameter set");
            }
            other => panic!("expected a failover, got {other:?}"),
        }
    }

    #[test]
    fn disaster_recovery_without_a_backup_sql_server_is_still_blocked() {
        // Validation refuses it in files; a model built in code still gets
        // a block, never a failover without -BackupSqlServerFqdn.
        let mut s = spec(false);
        s.disaster_recovery.backup_sql_server = None;
        let obs = store(
            Some("pool1"),
            &[("pool1", false, false), ("pool2", true, false)],
        );
        assert_eq!(
            store_actions(&s, Some(&obs)),
            Err(BlockReason::BackupSqlServerMissing {
                active: Some(n("pool1"))
            })
        );
    }

    #[test]
    fn an_active_pool_not_among_the_pools_is_not_observed_down() {
        let obs = store(Some("pool9"), &[("pool2", true, false)]);
        let steps = store_actions(&spec(false), Some(&obs)).unwrap();
        assert!(matches!(
            steps[1],
            Action::StoreFailover {
                mode: FailoverMode::Planned,
                ..
            }
        ));
    }

    #[test]
    fn active_in_two_pools_blocks_whatever_activepool_says() {
        // `activePool` names one pool, a flag another: two active pools.
        let obs = store(
            Some("pool1"),
            &[("pool1", true, false), ("pool2", true, true)],
        );
        assert!(matches!(
            store_actions(&spec(false), Some(&obs)),
            Err(BlockReason::StoreActiveInSeveralPools { .. })
        ));
        // `activePool` null, two flags.
        let obs = store(None, &[("pool1", true, true), ("pool2", true, true)]);
        assert!(matches!(
            store_actions(&spec(false), Some(&obs)),
            Err(BlockReason::StoreActiveInSeveralPools { .. })
        ));
        // `activePool` null, one flag: that pool is the active one.
        let obs = store(None, &[("pool1", true, false), ("pool2", true, true)]);
        assert_eq!(store_actions(&spec(false), Some(&obs)), Ok(Vec::new()));
    }
}
