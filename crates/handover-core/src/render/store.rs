//! The Central Management Store's outcome in words, for the end of a
//! rehearsal or an apply: where the store is active now, why it is blocked,
//! and, after a disaster-recovery failover, that the replication check was
//! skipped and data may have been lost.
//!
//! Also the PowerShell a store step stands for ([`powershell`]), for the
//! `plan --format powershell` output and PowerShell providers.
//!
//! Pure: topology and observation in, text out. Must not plan beyond asking
//! the planner's store rule why the store is blocked.

use crate::model::{Observed, Topology};
use crate::name::Name;
use crate::plan::{Action, FailoverMode};

use super::quote::quote;

/// The backup SQL servers of a disaster-recovery store failover, as the
/// plan names them (`-BackupSqlServerFqdn` and the rest).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Backup<'a> {
    /// The backup SQL server.
    pub server: Option<&'a Name>,
    /// Its instance.
    pub instance: Option<&'a str>,
    /// The mirror SQL server.
    pub mirror: Option<&'a Name>,
    /// The mirror's instance.
    pub mirror_instance: Option<&'a str>,
}

impl<'a> Backup<'a> {
    /// The backups a store failover names; `None` for any other step.
    pub fn of(action: &'a Action) -> Option<Self> {
        match action {
            Action::StoreFailover {
                backup_sql_server,
                backup_sql_instance,
                backup_mirror_sql_server,
                backup_mirror_sql_instance,
                ..
            } => Some(Backup {
                server: backup_sql_server.as_ref(),
                instance: backup_sql_instance.as_deref(),
                mirror: backup_mirror_sql_server.as_ref(),
                mirror_instance: backup_mirror_sql_instance.as_deref(),
            }),
            _ => None,
        }
    }
}

/// The PowerShell a store step stands for, as lines ending in newlines
/// (comments say where to run it and what an await checks), or `None` for
/// a member step. `-Force` only ever appears in disaster mode, and
/// `-Restore` only in planned mode: never together, and never with
/// `-BackupSqlServerFqdn`.
pub fn powershell(action: &Action) -> Option<String> {
    match action {
        Action::AwaitReplication { pool } => Some(format!(
            "# wait until every replica is up to date (UpToDate: True) before failing over to {pool}\nGet-CsManagementStoreReplicationStatus\n"
        )),
        Action::StoreFailover {
            pool,
            mode,
            restore,
            ..
        } => {
            let b = Backup::of(action).unwrap_or_default();
            let mut cmd = String::from("Invoke-CsManagementServerFailover");
            let mut out = format!("# run on a server of pool {pool}\n");
            if *mode == FailoverMode::Disaster {
                out.push_str("# disaster recovery: -Force skips the replication check; changes since the last replication may be lost\n");
                for (flag, value) in [
                    ("BackupSqlServerFqdn", b.server.map(Name::as_str)),
                    ("BackupSqlInstanceName", b.instance),
                    ("BackupMirrorSqlServerFqdn", b.mirror.map(Name::as_str)),
                    ("BackupMirrorSqlInstanceName", b.mirror_instance),
                ] {
                    if let Some(v) = value {
                        cmd.push_str(&format!(" -{flag} {}", quote(v)));
                    }
                }
            }
            // `-Restore` is in the planned parameter set only: never next to
            // `-BackupSqlServerFqdn` or `-Force`, even from a hand-made plan.
            match mode {
                FailoverMode::Planned if *restore => cmd.push_str(" -Restore"),
                FailoverMode::Planned => {}
                FailoverMode::Disaster => {
                    if *restore {
                        out.push_str("# restore is not passed: Invoke-CsManagementServerFailover has no -Restore in its disaster-recovery parameter set
");
                    }
                    cmd.push_str(" -Force");
                }
            }
            cmd.push_str(" -Confirm:$false\n");
            out.push_str(&cmd);
            Some(out)
        }
        Action::AwaitStoreActive { pool } => Some(format!(
            "# wait until the store is active in {pool} and in no other pool (ActiveMasterFqdn)\nGet-CsManagementStoreReplicationStatus -CentralManagementStoreStatus\n"
        )),
        _ => None,
    }
}

/// One or two lines (each ending in a newline) on the store's outcome, or
/// `None` when the topology does not manage the store. `disaster_failovers`
/// counts the disaster-recovery failovers that ran (`-Force`).
pub fn outcome(desired: &Topology, observed: &Observed, disaster_failovers: u32) -> Option<String> {
    let spec = desired.management_store.as_ref()?;
    let pool = &spec.pool;
    let mut out = String::from("Central Management Store: ");
    match &observed.management_store {
        None => out.push_str("the target reports no store.\n"),
        Some(st) => {
            let active = st.active_pools();
            if active.len() > 1 {
                let list: Vec<&str> = active.iter().map(|p| p.as_str()).collect();
                out.push_str(&format!(
                    "FAILED: active in {} pools at once ({}), the Skype for Business 2015 RTM hazard; this is not a success: make it active in one pool by hand.\n",
                    active.len(),
                    list.join(", ")
                ));
            } else if st.active_only_in(pool) {
                out.push_str(&format!("active in {pool}, and in no other pool.\n"));
            } else {
                match crate::plan::store_actions(spec, Some(st)) {
                    Err(reason) => out.push_str(&format!("blocked: {reason}.\n")),
                    Ok(_) => out.push_str(&format!(
                        "not active in {pool} yet ({}); the failover is still to do.\n",
                        match active.first() {
                            Some(a) => format!("active in {a}"),
                            None => "active in no pool".to_string(),
                        }
                    )),
                }
            }
        }
    }
    if disaster_failovers > 0 {
        out.push_str(&format!(
            "{} disaster-recovery failover{} (-Force) ran: the replication check was skipped, and changes written to the store since the last replication may be lost.\n",
            disaster_failovers,
            if disaster_failovers == 1 { "" } else { "s" }
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{observed, topology};

    fn run(dr: &str, store: &str, disaster: u32) -> Option<String> {
        let d = topology(&format!(
            "managementStore: {{pool: pool2, disasterRecovery: {dr}}}\n"
        ));
        let o = observed(&format!("managementStore: {store}\n"));
        outcome(&d, &o, disaster)
    }

    #[test]
    fn says_where_the_store_is_and_what_went_wrong() {
        let one = "{activePool: pool2, pools: [{name: pool1}, {name: pool2}]}";
        assert_eq!(
            run("{allowed: false}", one, 0).unwrap(),
            "Central Management Store: active in pool2, and in no other pool.\n"
        );
        let both = "{activePool: pool2, pools: [{name: pool1, active: true}, {name: pool2}]}";
        let s = run("{allowed: false}", both, 0).unwrap();
        assert!(
            s.contains("FAILED: active in 2 pools at once (pool2, pool1)"),
            "{s}"
        );
        let down = "{activePool: pool1, pools: [{name: pool1, up: false}, {name: pool2}]}";
        let s = run("{allowed: false}", down, 0).unwrap();
        assert!(s.contains("blocked: the active pool pool1 is down"), "{s}");
        assert!(s.contains("disasterRecovery.allowed: true"), "{s}");
        let s = run("{allowed: true, backupSqlServer: sql2}", one, 1).unwrap();
        assert!(
            s.ends_with("1 disaster-recovery failover (-Force) ran: the replication check was skipped, and changes written to the store since the last replication may be lost.\n"),
            "{s}"
        );
        let waiting = "{activePool: pool1, pools: [{name: pool1}, {name: pool2}]}";
        let s = run("{allowed: false}", waiting, 0).unwrap();
        assert!(
            s.contains("not active in pool2 yet (active in pool1)"),
            "{s}"
        );
    }

    #[test]
    fn powershell_passes_force_only_in_disaster_mode() {
        let n = |s: &str| crate::name::Name::parse(s).unwrap();
        let planned = Action::StoreFailover {
            pool: n("pool2"),
            mode: FailoverMode::Planned,
            backup_sql_server: None,
            backup_sql_instance: None,
            backup_mirror_sql_server: None,
            backup_mirror_sql_instance: None,
            restore: true,
        };
        assert_eq!(
            powershell(&planned).unwrap(),
            "# run on a server of pool pool2\nInvoke-CsManagementServerFailover -Restore -Confirm:$false\n"
        );
        let disaster = Action::StoreFailover {
            pool: n("pool2"),
            mode: FailoverMode::Disaster,
            backup_sql_server: Some(n("sql2")),
            backup_sql_instance: Some("RTC".into()),
            backup_mirror_sql_server: Some(n("sql3")),
            backup_mirror_sql_instance: Some("it's".into()),
            restore: false,
        };
        let ps = powershell(&disaster).unwrap();
        assert!(
            ps.ends_with("Invoke-CsManagementServerFailover -BackupSqlServerFqdn 'sql2' -BackupSqlInstanceName 'RTC' -BackupMirrorSqlServerFqdn 'sql3' -BackupMirrorSqlInstanceName 'it''s' -Force -Confirm:$false\n"),
            "{ps}"
        );
        assert!(ps.contains("skips the replication check"), "{ps}");
        // A hand-made plan asking for restore in disaster mode: -Restore is
        // never printed next to -BackupSqlServerFqdn or -Force.
        let mut with_restore = disaster.clone();
        if let Action::StoreFailover { restore, .. } = &mut with_restore {
            *restore = true;
        }
        let ps = powershell(&with_restore).unwrap();
        let cmd = ps.lines().last().unwrap();
        assert!(
            cmd.starts_with("Invoke-CsManagementServerFailover -BackupSqlServerFqdn"),
            "{ps}"
        );
        assert!(!cmd.contains("-Restore"), "{ps}");
        assert!(ps.contains("restore is not passed"), "{ps}");
        assert!(ps.contains(" -Force -Confirm:$false"), "{ps}");
        assert!(
            powershell(&Action::AwaitReplication { pool: n("pool2") })
                .unwrap()
                .contains("Get-CsManagementStoreReplicationStatus\n")
        );
        assert!(
            powershell(&Action::AwaitStoreActive { pool: n("pool2") })
                .unwrap()
                .contains("-CentralManagementStoreStatus")
        );
    }

    #[test]
    fn nothing_to_say_without_a_managed_store() {
        let d = topology("");
        assert_eq!(outcome(&d, &Observed::new(), 0), None);
    }
}
